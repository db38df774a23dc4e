import { CompactionLock } from '../../../src/lake/compaction/lock';
import type { Lake } from '../../../src/lake/lake';
import { hiveLayout } from '../../../src/lake/layout';
import { compactedBefore, expireLakeDays, firstKeptDay, type DayExpired, type ExpiryStep, type RetentionOptions } from '../../../src/lake/retention';
import type { TopicDay } from '../../../src/lake/files';
import { EXPIRED, KEPT, NOW_MS, RETENTION_DAYS, allKeys, buildExpiringLake, partlyRemovedDays, schemaKeys } from '../../harness/expiring-lake';
import { localLake } from '../../harness/local-lake';
import { DAY, removeLake, snapshotLake, tempLake } from './compaction/lake-fixture';

const LEASE_MS = 30_000;

class SimulatedCrash extends Error {}

function options(lake: Lake, overrides: Partial<RetentionOptions> = {}): RetentionOptions {
  return { lake, days: RETENTION_DAYS, timeZone: 'UTC', owner: 'owner-a', leaseMs: LEASE_MS, now: () => NOW_MS, ...overrides };
}

function recorder(): { events: { lakeDayExpired: (event: DayExpired) => void; lakeRetentionFailed: (target: TopicDay | null, error: unknown) => void }; expired: DayExpired[]; failed: unknown[] } {
  const expired: DayExpired[] = [];
  const failed: unknown[] = [];
  return { expired, failed, events: { lakeDayExpired: (event) => expired.push(event), lakeRetentionFailed: (_target, error) => failed.push(error) } };
}

/** Keys of the lake that belong to these (topic, day)s' folders (the seed layout's day folders hold every topic). */
function keysOf(keys: readonly string[], lake: Lake, targets: readonly TopicDay[]): string[] {
  return keys.filter((key) => targets.some(({ topic, day, kind }) => key.startsWith(lake.layout.partFolder(topic, day, kind)) || (key.startsWith(lake.layout.dayFileFolder(topic, day, kind)) && key.includes(topic))));
}

let dir: string;
let lake: Lake;

beforeEach(async () => {
  dir = tempLake();
  lake = localLake(dir);
  await buildExpiringLake(lake);
});

afterEach(() => removeLake(dir));

it('keeps today and the N days before it, in the zone', () => {
  expect(firstKeptDay(NOW_MS, 'UTC', 3)).toBe(DAY - 2);
  // 12:00 UTC on DAY + 1 is already DAY + 2 in Kiritimati (UTC+14).
  expect(firstKeptDay(NOW_MS, 'Pacific/Kiritimati', 3)).toBe(DAY - 1);
});

it('removes every day older than N days, whole, and leaves the younger ones untouched', async () => {
  const before = await allKeys(lake);
  expect(keysOf(before, lake, EXPIRED).length).toBeGreaterThan(6);
  const { events, expired, failed } = recorder();
  const pass = await expireLakeDays(options(lake), events);
  expect(failed).toEqual([]);
  expect(pass.status).toBe('done');
  expect(expired.map((event) => event.target)).toEqual(expect.arrayContaining([...EXPIRED]));
  expect(expired).toHaveLength(EXPIRED.length);
  const after = await allKeys(lake);
  // Nothing of the expired days is left, not even a lock, a journal or the lease.
  expect(keysOf(after, lake, EXPIRED)).toEqual([]);
  expect(after.filter((key) => key.startsWith('.retention'))).toEqual([]);
  // The kept days are exactly as they were.
  expect(keysOf(after, lake, KEPT)).toEqual(keysOf(before, lake, KEPT));
  expect(after).toEqual(keysOf(before, lake, KEPT));
  // The topic's schema belongs to no day: it stays.
  expect(await schemaKeys(lake)).toEqual(['_schema/trades/v000001.json']);

  const again = recorder();
  await expireLakeDays(options(lake), again.events);
  expect(again.expired).toEqual([]);
});

it('removes expired days of the Hive layout as well', async () => {
  const hiveDir = tempLake();
  const hive = localLake(hiveDir, hiveLayout);
  try {
    await buildExpiringLake(hive);
    const before = await allKeys(hive);
    const { events, expired } = recorder();
    await expireLakeDays(options(hive), events);
    expect(expired).toHaveLength(EXPIRED.length);
    const after = await allKeys(hive);
    expect(keysOf(after, hive, EXPIRED)).toEqual([]);
    expect(after).toEqual(keysOf(before, hive, KEPT));
  } finally {
    removeLake(hiveDir);
  }
});

it('tells per topic from when days are not compacted yet: the first day open or holding parts', async () => {
  const startOf = (day: number): number => day * 86_400_000;
  // quotes still has parts on DAY - 9; trades has parts on DAY (closed at NOW_MS); other is not in the lake.
  expect(await compactedBefore(lake, ['trades', 'quotes', 'other'], 'UTC', 0, NOW_MS)).toEqual(new Map([['trades', startOf(DAY)], ['quotes', startOf(DAY - 9)], ['other', startOf(DAY + 1)]]));
  // Within the grace after midnight, yesterday is still open.
  expect((await compactedBefore(lake, ['other'], 'UTC', 13 * 3_600_000, NOW_MS)).get('other')).toBe(startOf(DAY));
});

it('leaves a day the pipeline still writes for the next pass', async () => {
  const { events, expired } = recorder();
  await expireLakeDays(options(lake), events, (target) => target.topic === 'quotes');
  expect(expired.map((event) => event.target.topic)).toEqual(['trades', 'trades']);
});

it('lets one collector at a time remove days', async () => {
  const held = await CompactionLock.acquire(lake.store, '.retention.lock', { owner: 'owner-b', leaseMs: LEASE_MS, now: () => NOW_MS });
  const { events, expired } = recorder();
  expect(await expireLakeDays(options(lake), events)).toEqual({ status: 'locked', expired: [] });
  expect(expired).toEqual([]);
  await held?.release();
});

it('never lets a reader that goes through the markers see part of a day', async () => {
  const seen: string[] = [];
  const onStep = async (): Promise<void> => {
    seen.push(...(await partlyRemovedDays(lake, EXPIRED)));
  };
  await expireLakeDays(options(lake, { onStep }), recorder().events);
  expect(seen).toEqual([]);
});

describe.each<ExpiryStep>(['journaled', 'unmarked', 'removed'])('a crash after the step %s', (crashStep) => {
  it('is finished by the next pass, of another collector once the lease ran out', async () => {
    let snapshot: string | null = null;
    const onStep = (step: ExpiryStep): void => {
      if (step !== crashStep || snapshot !== null) return;
      // What a SIGKILL at this moment leaves: the lease, the day's lock and the journal stay.
      snapshot = snapshotLake(dir);
      throw new SimulatedCrash(step);
    };
    await expireLakeDays(options(lake, { onStep }), recorder().events);
    if (snapshot === null) throw new Error(`retention never reached ${crashStep}`);
    const crashed = localLake(snapshot);
    try {
      expect(await partlyRemovedDays(crashed, EXPIRED)).toEqual([]);
      // Within the lease, the crashed pass's lease still holds.
      expect((await expireLakeDays(options(crashed, { owner: 'owner-b' }), recorder().events)).status).toBe('locked');
      const { events, expired, failed } = recorder();
      await expireLakeDays(options(crashed, { owner: 'owner-b', now: () => NOW_MS + LEASE_MS }), events);
      expect(failed).toEqual([]);
      expect(expired[0]).toMatchObject({ resumed: true });
      const after = await allKeys(crashed);
      expect(keysOf(after, crashed, EXPIRED)).toEqual([]);
      expect(after).toEqual(keysOf(await allKeys(lake), lake, KEPT));
    } finally {
      removeLake(snapshot);
    }
  });
});
