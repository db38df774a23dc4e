/**
 * Deterministic market-data rows in the seed's example shape after flattening, as both a sealed
 * columnar batch (what the buffer stage hands to the encoder) and row objects (what row-oriented
 * writers take). A fixed seed keeps file sizes comparable between runs.
 */
import type { CellValue, ColumnData, ColumnType, SealedBatch } from '../../src/parquet/batch';
import { seededRandom } from '../harness/random';

export const BENCH_COLUMNS: ReadonlyArray<readonly [string, ColumnType]> = [
  ['kafka_topic', 'string'],
  ['kafka_partition', 'int64'],
  ['kafka_offset', 'int64'],
  ['kafka_timestamp', 'timestamp_ms'],
  ['kafka_key', 'string'],
  ['event_type', 'string'],
  ['source', 'string'],
  ['symbol', 'string'],
  ['bid', 'double'],
  ['ask', 'double'],
  ['volume', 'int64'],
  ['metadata_exchange', 'string'],
  ['metadata_timestamp', 'string'],
];

const SYMBOLS = [
  'AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', 'META', 'TSLA', 'BRK.B', 'JPM', 'V',
  'UNH', 'XOM', 'JNJ', 'WMT', 'MA', 'PG', 'AVGO', 'HD', 'CVX', 'MRK',
  'ABBV', 'LLY', 'PEP', 'KO', 'COST', 'ADBE', 'CSCO', 'MCD', 'TMO', 'ACN',
  'CRM', 'BAC', 'NFLX', 'ABT', 'LIN', 'DHR', 'AMD', 'CMCSA', 'TXN', 'NKE',
  'ORCL', 'PFE', 'DIS', 'WFC', 'INTC', 'QCOM', 'UPS', 'PM', 'IBM', 'SPY',
];
const EXCHANGES = ['NASDAQ', 'NYSE', 'ARCA', 'BATS'];
const PARTITIONS = 6;
const START_MS = Date.UTC(2025, 9, 17, 13, 30, 0);

const round2 = (value: number): number => Math.round(value * 100) / 100;

export function generateMarketBatch(rows: number, seed = 42): SealedBatch {
  const next = seededRandom(seed);
  const columns = new Map<string, CellValue[]>(
    BENCH_COLUMNS.map(([name]) => [name, new Array<CellValue>(rows)]),
  );
  const column = (name: string): CellValue[] => columns.get(name) ?? [];
  const prices = SYMBOLS.map((_, index) => 20 + index * 9.5);
  const nextOffset = new Array<number>(PARTITIONS).fill(1_000_000);
  let timestamp = START_MS;
  for (let row = 0; row < rows; row++) {
    const partition = Math.floor(next() * PARTITIONS);
    const symbolIndex = Math.floor(next() * SYMBOLS.length);
    const symbol = SYMBOLS[symbolIndex];
    prices[symbolIndex] = Math.max(1, prices[symbolIndex] * (1 + (next() - 0.5) * 0.002));
    const bid = round2(prices[symbolIndex]);
    timestamp += Math.floor(next() * 40);
    column('kafka_topic')[row] = 'market_data';
    column('kafka_partition')[row] = partition;
    column('kafka_offset')[row] = nextOffset[partition]++;
    column('kafka_timestamp')[row] = timestamp;
    column('kafka_key')[row] = symbol;
    column('event_type')[row] = 'market_data';
    column('source')[row] = 'ibkr';
    column('symbol')[row] = symbol;
    column('bid')[row] = bid;
    column('ask')[row] = round2(bid + 0.01 + Math.floor(next() * 10) / 100);
    column('volume')[row] = 100 + Math.floor(next() * 5_000_000);
    column('metadata_exchange')[row] = EXCHANGES[Math.floor(next() * EXCHANGES.length)];
    column('metadata_timestamp')[row] = new Date(timestamp - Math.floor(next() * 5)).toISOString();
  }
  return {
    rowCount: rows,
    columns: BENCH_COLUMNS.map(([name, type]): ColumnData => ({ name, type, values: column(name) })),
    metadata: { 'collector.bench': 'writers' },
  };
}

/** The same rows as objects keyed by column name. */
export function toRowObjects(batch: SealedBatch): Array<Record<string, CellValue>> {
  const rows: Array<Record<string, CellValue>> = [];
  for (let row = 0; row < batch.rowCount; row++) {
    const record: Record<string, CellValue> = {};
    for (const { name, values } of batch.columns) record[name] = values[row];
    rows.push(record);
  }
  return rows;
}
