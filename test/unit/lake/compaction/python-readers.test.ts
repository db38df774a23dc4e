import { readdirSync } from 'node:fs';
import path from 'node:path';
import { compactDay } from '../../../../src/lake/compaction/compact-day';
import { duckdbRows, readWithPython, type Plain } from '../../../harness/python';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from './lake-fixture';

const TOPIC = 'market_data';

/** Three parts that drift: price int then double, a column appearing, one disappearing, a replay. */
async function driftingDay(lake: string): Promise<void> {
  await writePart(lake, TOPIC, [...records(0, 0, 2, (o) => ({ symbol: 'AAPL', price: 150 + o, venue: 'XNAS' })), ...records(1, 0, 1, (o) => ({ symbol: 'MSFT', price: 400 + o, venue: 'XNAS' }))]);
  await writePart(lake, TOPIC, records(0, 3, 5, (o) => ({ symbol: 'AAPL', price: 150.25 + o, bid: 150 + o, at: new Date(Date.UTC(2025, 9, 17, 10, 30, o)) })));
  await writePart(lake, TOPIC, records(0, 5, 6, (o) => ({ symbol: 'AAPL', price: 150.25 + o, bid: 150 + o, at: new Date(Date.UTC(2025, 9, 17, 10, 30, o)) })));
}

describe('a compacted day read back by DuckDB, pyarrow and Polars, value for value', () => {
  let lake: string;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => removeLake(lake));

  it('the open day\'s parts (README one-liners) and the closed day\'s file (the seed\'s path) hold the same values', async () => {
    await driftingDay(lake);
    const partsFolder = path.join(lake, '2025/10/17', TOPIC);
    const parts = readdirSync(partsFolder).map((name) => path.join(partsFolder, name));
    // Before compaction, the open day holds the replayed offset 5 twice: drop it for the comparison.
    const open = readWithPython('open', parts);
    const openDuck = (await duckdbRows(parts)).filter((row, i, all) => i === 0 || row.kafka_offset !== all[i - 1].kafka_offset || row.kafka_partition !== all[i - 1].kafka_partition);

    await compactDay({ topic: TOPIC, day: DAY, kind: 'data' }, compactorOptions(lake));

    const file = path.join(lake, '2025/10/17', `${TOPIC}.parquet`);
    const compacted = readWithPython('compacted', [file]);
    const duck = await duckdbRows([file]);
    expect(duck).toHaveLength(9);
    expect(duck[0]).toEqual({ kafka_topic: TOPIC, kafka_partition: 0, kafka_offset: 0, kafka_timestamp: '2025-10-17T00:00:00.000Z', symbol: 'AAPL', price: 150, venue: 'XNAS', bid: null, at: null });
    expect(duck[5]).toMatchObject({ kafka_offset: 5, price: 155.25, bid: 155, at: '2025-10-17T10:30:05.000Z', venue: null });
    expect(compacted.pyarrow.rows).toEqual(duck);
    expect(compacted.polars.rows).toEqual(duck);
    expect(compacted.pyarrow.schema).toMatchObject({ kafka_offset: 'int64', price: 'double', bid: 'int64', at: 'timestamp[ms, tz=UTC]', symbol: expect.stringMatching(/string/) });
    expect(compacted.polars.schema).toMatchObject({ kafka_offset: 'Int64', price: 'Float64', at: "Datetime(time_unit='ms', time_zone='UTC')" });
    const pick = (rows: Array<Record<string, Plain>>): Array<Record<string, Plain>> => rows.map(({ kafka_partition, kafka_offset, price, bid, at, venue }) => ({ kafka_partition, kafka_offset, price, bid, at, venue }));
    for (const view of [open.pyarrow.rows, open.polars.rows]) {
      const unique = view.filter((row, i, all) => i === 0 || row.kafka_offset !== all[i - 1].kafka_offset || row.kafka_partition !== all[i - 1].kafka_partition);
      expect(pick(unique)).toEqual(pick(duck));
    }
    expect(pick(openDuck)).toEqual(pick(duck));
  });
});
