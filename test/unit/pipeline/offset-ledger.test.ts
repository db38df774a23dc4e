import { ANY_DAY, decodeCommitMetadata } from '../../../src/pipeline/commit-metadata';
import { OffsetLedger, type OffsetHolder } from '../../../src/pipeline/offset-ledger';

const DAY = 20_378;
const holder = (topic: string, lowest: Array<[number, number]>, day = DAY): OffsetHolder => ({ topic, day, lowestOffsets: () => new Map(lowest) });

/** A ledger that consumed these (topic, partition, offsets) in order. */
function ledgerAfter(consumed: Array<[string, number, number[]]>): OffsetLedger {
  const ledger = new OffsetLedger('test');
  for (const [topic, partition, offsets] of consumed) for (const offset of offsets) ledger.partition(topic, partition).advance(offset);
  return ledger;
}

const offsetsOf = (commits: ReadonlyArray<{ topic: string; partition: number; offset: number }>): Array<[string, number, number]> =>
  commits.map(({ topic, partition, offset }): [string, number, number] => [topic, partition, offset]);

describe('OffsetLedger: what may be committed', () => {
  it('commits the next offset when nothing is held', () => {
    expect(offsetsOf(ledgerAfter([['t', 0, [98, 99]]]).nextCommit([], 0))).toEqual([['t', 0, 100]]);
  });

  it('stops at the lowest held offset, never passing the older of two day buffers', () => {
    const ledger = ledgerAfter([['t', 0, [50, 99]]]);
    expect(offsetsOf(ledger.nextCommit([holder('t', [[0, 70]]), holder('t', [[0, 55]])], 0))).toEqual([['t', 0, 55]]);
  });

  it('keeps partitions and topics apart', () => {
    const ledger = ledgerAfter([
      ['t', 0, [0, 99]],
      ['t', 1, [0, 9]],
      ['u', 0, [0, 4]],
    ]);
    expect(offsetsOf(ledger.nextCommit([holder('t', [[1, 3]]), holder('u', [[0, 4]])], 0))).toEqual([
      ['t', 0, 100],
      ['t', 1, 3],
      ['u', 0, 4],
    ]);
  });

  it('keeps only forward moves past what the group has', () => {
    const ledger = ledgerAfter([['t', 0, [10, 11]]]);
    ledger.committed([{ topic: 't', partition: 0, offset: 12, metadata: null }]);
    expect(ledger.nextCommit([], 0)).toEqual([]);
    ledger.partition('t', 0).advance(12);
    expect(offsetsOf(ledger.nextCommit([], 0))).toEqual([['t', 0, 13]]);
  });

  it('stores the earliest publish time of files still past the commit as recover-since', () => {
    const ledger = ledgerAfter([['t', 0, [0, 299]]]);
    ledger.filePublished('t', DAY, new Map([[0, [[0, 99]]]]), 1000);
    ledger.filePublished('t', DAY, new Map([[0, [[100, 199]]]]), 2000);
    const since = (held: number): number | undefined =>
      decodeCommitMetadata(ledger.nextCommit([holder('t', [[0, held]])], 5000)[0]?.metadata)?.recoverSinceMs;
    expect(since(50)).toBe(1000);
    expect(since(100)).toBe(2000);
    expect(since(250)).toBe(5000);
  });
});

describe('OffsetLedger: per-partition facts', () => {
  it('returns the previous offset seen and takes the first offset as where the group stands', () => {
    const ledger = new OffsetLedger('test');
    const state = ledger.partition('t', 0);
    expect(state.advance(5)).toBe(-1);
    expect(state.advance(9)).toBe(5);
    expect(state.committed).toBe(5);
    expect(ledger.nextOffset('t', 0)).toBe(10);
  });

  it('asks for a recovery point once per partition that has no commit with metadata', () => {
    const ledger = ledgerAfter([
      ['t', 0, [7, 8]],
      ['t', 1, [3]],
    ]);
    const needed = ledger.recoveryPointsNeeded('t', [0, 1], 1234, DAY);
    expect(needed.map(({ partition, offset }) => [partition, offset])).toEqual([
      [0, 7],
      [1, 3],
    ]);
    expect(decodeCommitMetadata(needed[0].metadata)).toEqual({ recoverSinceMs: 1234, recoverDays: new Set([DAY]) });
    ledger.committed(needed.slice(0, 1));
    expect(ledger.recoveryPointsNeeded('t', [0, 1], 1234, DAY).map(({ partition }) => partition)).toEqual([1]);
  });

  it('skips offsets recovery found on disk, in offset order', () => {
    const ledger = new OffsetLedger('test');
    ledger.recovered('t', 0, [[8, 8], [3, 4]], [{ last: 8, publishedAtMs: 1, day: DAY }], { sinceMs: 1, days: new Set([DAY]) });
    const state = ledger.partition('t', 0);
    expect([1, 3, 4, 5, 8, 9].map((offset) => state.isPublished(offset))).toEqual([false, true, true, false, true, false]);
    expect(ledger.recoveryPointsNeeded('t', [0], 0, DAY)).toEqual([]);
  });

  it('forgets every fact of a revoked partition at once', () => {
    const ledger = ledgerAfter([['t', 0, [1, 2]]]);
    ledger.recovered('t', 0, [[5, 6]], [], { sinceMs: 1, days: ANY_DAY });
    ledger.revoke('t', 0);
    const state = ledger.partition('t', 0);
    expect([state.next, state.committed, state.hasRecoveryPoint, state.skip, state.publishedAbove, state.stored]).toEqual([null, null, false, [], [], null]);
  });

  it('stores the days of what is held or published past the commit, and asks for a recovery point before a file of another day', () => {
    const ledger = ledgerAfter([['t', 0, [0, 299]]]);
    ledger.filePublished('t', DAY - 1, new Map([[0, [[0, 99]]]]), 1000);
    const commits = ledger.nextCommit([holder('t', [[0, 50]], DAY - 1), holder('t', [[0, 200]], DAY)], 5000);
    expect(decodeCommitMetadata(commits[0].metadata)).toEqual({ recoverSinceMs: 1000, recoverDays: new Set([DAY - 1, DAY]) });
    ledger.committed(commits);

    expect(ledger.recoveryPointsNeeded('t', [0], 6000, DAY)).toEqual([]);
    const needed = ledger.recoveryPointsNeeded('t', [0], 6000, DAY + 1);
    expect(needed.map(({ offset }) => offset)).toEqual([50]);
    expect(decodeCommitMetadata(needed[0].metadata)).toEqual({ recoverSinceMs: 1000, recoverDays: new Set([DAY - 1, DAY, DAY + 1]) });
    ledger.committed(needed);
    expect(ledger.recoveryPointsNeeded('t', [0], 7000, DAY + 1)).toEqual([]);
  });

  it("stores the group's commit again as a text of its own, so a refused one never reads back as stored", () => {
    const ledger = ledgerAfter([['t', 0, [0, 9]]]);
    const first = ledger.nextCommit([], 100);
    ledger.committed(first);
    const again = ledger.commitsAgain('t', [0]);
    const another = new OffsetLedger('other');
    another.recovered('t', 0, [], [], { sinceMs: 100, days: new Set() });
    another.committed(first);
    const byAnotherMember = another.commitsAgain('t', [0]);
    expect(again.map(({ offset }) => offset)).toEqual([10]);
    expect(decodeCommitMetadata(again[0].metadata)).toEqual(decodeCommitMetadata(first[0].metadata));
    expect(new Set([first[0].metadata, again[0].metadata, ledger.commitsAgain('t', [0])[0].metadata, byAnotherMember[0].metadata]).size).toBe(4);
  });

  it('never asks again when the group commit says any day', () => {
    const ledger = ledgerAfter([['t', 0, [0, 9]]]);
    ledger.recovered('t', 0, [], [], { sinceMs: 1, days: ANY_DAY });
    expect(ledger.recoveryPointsNeeded('t', [0], 10, DAY + 5)).toEqual([]);
  });
});
