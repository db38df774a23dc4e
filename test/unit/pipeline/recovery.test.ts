import { seedLayout } from '../../../src/lake/layout';
import type { ListOptions, Listing } from '../../../src/lake/store/lake-store';
import { LocalStore } from '../../../src/lake/store/local';
import { ANY_DAY, encodeCommitMetadata } from '../../../src/pipeline/commit-metadata';
import { OffsetLedger } from '../../../src/pipeline/offset-ledger';
import { daysToList, recoverTopic } from '../../../src/pipeline/recovery';
import { DAY, records, removeLake, tempLake, writePart } from '../lake/compaction/lake-fixture';

/** The local store, remembering every prefix it was asked to list. */
class ListCountingStore extends LocalStore {
  readonly listed: string[] = [];
  override list(prefix: string, options?: ListOptions): Promise<Listing> {
    this.listed.push(prefix);
    return super.list(prefix, options);
  }
}

describe('recovery', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempLake();
    await writePart(dir, 't', records(0, 0, 9), { day: DAY - 30 });
    await writePart(dir, 't', records(0, 10, 19), { day: DAY });
    await writePart(dir, 't', records(0, 20, 24), { day: DAY + 1 });
  });
  afterEach(() => removeLake(dir));

  it('lists only the days the commit names, and finds what is past the commit there', async () => {
    const store = new ListCountingStore(dir);
    const ledger = new OffsetLedger('test');
    const committed = [{ topic: 't', partition: 0, offset: 15, metadata: encodeCommitMetadata({ recoverSinceMs: 0, recoverDays: new Set([DAY, DAY + 1]) }, 'other-1') }];

    const recovered = await recoverTopic({ store, layout: seedLayout }, 't', committed, ledger);

    expect(recovered).toMatchObject({ filesRead: 2, skipped: new Map([[0, [[15, 24]]]]) });
    expect(store.listed.every((prefix) => prefix.startsWith('2025/10/17/') || prefix.startsWith('2025/10/18/'))).toBe(true);
    expect(ledger.partition('t', 0).stored).toEqual({ sinceMs: 0, days: new Set([DAY, DAY + 1]) });
  });

  it('lists every day for a commit of the first version', async () => {
    const store = new ListCountingStore(dir);
    const committed = [{ topic: 't', partition: 0, offset: 5, metadata: JSON.stringify({ recover_since_ms: 0 }) }];
    const recovered = await recoverTopic({ store, layout: seedLayout }, 't', committed, new OffsetLedger('test'));
    expect(recovered).toMatchObject({ filesRead: 3, skipped: new Map([[0, [[5, 24]]]]) });
    expect(store.listed).toContain('2025/09/17/');
  });

  it('takes the union of the partitions’ days, or every day when one names none', () => {
    expect(daysToList([new Set([3, 1]), new Set([2])])).toEqual([1, 2, 3]);
    expect(daysToList([new Set([3]), ANY_DAY])).toBeNull();
  });
});
