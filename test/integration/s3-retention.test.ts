/**
 * Lake retention on S3-compatible object storage (S3Proxy started by the harness): the days older
 * than LAKE_RETENTION_DAYS go whole, the younger ones stay, a reader that goes through the
 * closed-day markers never sees part of a day, and a pass that stops half-way through a day is
 * finished by the next one.
 */
import type { Lake } from '../../src/lake/lake';
import { expireLakeDays, type DayExpired, type ExpiryStep, type RetentionOptions } from '../../src/lake/retention';
import { EXPIRED, KEPT, NOW_MS, RETENTION_DAYS, allKeys, buildExpiringLake, partlyRemovedDays } from '../harness/expiring-lake';
import { uniqueName } from '../harness/kafka';
import { s3LakeOf } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';

const server = s3ServerForSuite('retention');

function options(lake: Lake, onStep?: (step: ExpiryStep) => Promise<void> | void): RetentionOptions {
  return { lake, days: RETENTION_DAYS, timeZone: 'UTC', owner: uniqueName('owner'), leaseMs: 30_000, now: () => NOW_MS, onStep };
}

function keysOfDays(keys: readonly string[], lake: Lake, days: readonly number[]): string[] {
  return keys.filter((key) => days.some((day) => key.startsWith(lake.layout.dayFileFolder('any', day, 'data'))));
}

it('removes the expired days whole, keeps the others, and finishes a day a stopped pass left half-removed', async () => {
  const { lake } = s3LakeOf(server(), uniqueName('lake'));
  await buildExpiringLake(lake);
  const before = await allKeys(lake);
  const keptDays = KEPT.map((target) => target.day);
  const expiredDays = EXPIRED.map((target) => target.day);
  expect(keysOfDays(before, lake, expiredDays).length).toBeGreaterThan(6);

  // The first pass stops right after the first day's marker is gone: its journal names that day.
  const partial: string[] = [];
  const stopped: unknown[] = [];
  await expireLakeDays(
    options(lake, async (step) => {
      partial.push(...(await partlyRemovedDays(lake, EXPIRED)));
      if (step === 'unmarked') throw new Error('stopped');
    }),
    { lakeDayExpired: () => undefined, lakeRetentionFailed: (_target, error) => stopped.push(error) },
  );
  expect(stopped).toHaveLength(1);
  expect(partial).toEqual([]);
  expect(keysOfDays(await allKeys(lake), lake, expiredDays).length).toBeGreaterThan(0);

  const expired: DayExpired[] = [];
  const failed: unknown[] = [];
  await expireLakeDays(options(lake), { lakeDayExpired: (event) => expired.push(event), lakeRetentionFailed: (_target, error) => failed.push(error) });
  expect(failed).toEqual([]);
  expect(expired[0]).toMatchObject({ resumed: true });
  expect(expired.map((event) => event.target)).toEqual(expect.arrayContaining([...EXPIRED]));
  const after = await allKeys(lake);
  expect(keysOfDays(after, lake, expiredDays)).toEqual([]);
  expect(after).toEqual(keysOfDays(before, lake, keptDays));
});
