/** The seed README's example message, and the columns its flattening rules give it. */
export const SEED_EXAMPLE = {
  event_type: 'market_data',
  source: 'ibkr',
  data: { symbol: 'AAPL', bid: 150.25, ask: 150.3, volume: 1000000 },
  metadata: { exchange: 'NASDAQ', timestamp: '2025-10-17T10:30:00Z' },
};

export const SEED_EXAMPLE_FIELDS: Array<[string, string | number]> = [
  ['event_type', 'market_data'],
  ['source', 'ibkr'],
  ['symbol', 'AAPL'],
  ['bid', 150.25],
  ['ask', 150.3],
  ['volume', 1000000],
  ['metadata_exchange', 'NASDAQ'],
  ['metadata_timestamp', '2025-10-17T10:30:00Z'],
];
