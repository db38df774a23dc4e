/** Messages of the seed's example shape with varied values, for tests, the demo and the benchmark. */
import { pack } from 'msgpackr';

export const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'JPM', 'V', 'XOM', 'UNH', 'HD', 'PG', 'MA', 'KO'];
const EXCHANGES = ['NASDAQ', 'NYSE', 'ARCA', 'BATS'];

export interface MarketEvent {
  event_type: string;
  source: string;
  data: { symbol: string; bid: number; ask: number; volume: number; seq: number };
  metadata: { exchange: string; timestamp: string };
}

/** The n-th event of a deterministic stream: the same n always gives the same values. */
export function marketEvent(n: number, timestampMs: number): MarketEvent {
  const symbol = SYMBOLS[n % SYMBOLS.length];
  const bid = Math.round((100 + ((n * 7919) % 50000) / 100) * 100) / 100;
  return {
    event_type: 'market_data',
    source: 'ibkr',
    data: { symbol, bid, ask: Math.round((bid + 0.05) * 100) / 100, volume: 1000 + ((n * 104729) % 1_000_000), seq: n },
    metadata: { exchange: EXCHANGES[n % EXCHANGES.length], timestamp: new Date(timestampMs).toISOString() },
  };
}

export function encodeEvent(event: MarketEvent, format: 'msgpack' | 'json'): Buffer {
  return format === 'msgpack' ? pack(event) : Buffer.from(JSON.stringify(event), 'utf8');
}
