import type { CollectorConfig } from '../config/schema';
import { CollectorError, describeError } from '../errors';
import { CompactionLock, type LockOptions } from './compaction/lock';
import { dayInTimeZone, dayStartMs } from './day-cut';
import { findDayFiles, listTopicDays, type TopicDay } from './files';
import type { Lake } from './lake';
import { closedMarkerName, compactionLockName, isoDate } from './layout';

/**
 * Lake retention (LAKE_RETENTION_DAYS): after a compaction pass, the closed days older than N days
 * in DAY_TIME_ZONE are removed, every topic and kind, one (topic, day, kind) at a time:
 *
 *   lease → day lock → journal → marker → files → journal gone
 *
 * One collector at a time holds the lake's retention lease (the compaction lock's create-only lease
 * on `.retention.lock` at the root); each day is removed under its compaction lock, so no
 * compaction merges into a day being removed. The journal `.retention.journal` names the day under
 * removal: a crash leaves it, and the next pass, of any collector, finishes that day first.
 *
 * What a reader sees: the closed-day marker goes first, so a reader that takes a day through its
 * `_SUCCESS.<topic>.json` sees the whole day or, from that moment, none of it. The files follow,
 * each removed whole.
 */

const LEASE_KEY = '.retention.lock';
const JOURNAL_KEY = '.retention.journal';

export type ExpiryStep = 'journaled' | 'unmarked' | 'removed';

/** `owner` (the collector's instance id), `leaseMs` and `now` are the lease's and the day locks'. */
export interface RetentionOptions extends LockOptions {
  readonly lake: Lake;
  /** Days kept before today (in the zone); older ones go. */
  readonly days: number;
  readonly timeZone: string;
  /** Called after each step of a day; tests stop here to simulate a crash. */
  readonly onStep?: (step: ExpiryStep, target: TopicDay) => Promise<void> | void;
}

export interface DayExpired {
  readonly target: TopicDay;
  /** Objects removed: Parquet files, the marker, what a compaction left. */
  readonly files: number;
  /** The day was the one a crashed pass had started. */
  readonly resumed: boolean;
}

export interface RetentionEvents {
  lakeDayExpired(event: DayExpired): void;
  /** Removing a day failed (target null: the pass itself); the next pass tries again. */
  lakeRetentionFailed(target: TopicDay | null, error: unknown): void;
}

export interface RetentionPass {
  /** locked: another collector holds the lease. */
  readonly status: 'done' | 'locked';
  readonly expired: readonly DayExpired[];
}

/** The first day kept: today in the zone, less `days`. */
export function firstKeptDay(nowMs: number, timeZone: string, days: number): number {
  return dayInTimeZone(nowMs, timeZone) - days;
}

/**
 * Per topic, the instant before which every day of it is compacted: the start of its first day
 * still open (in the zone, grace included) or still holding part files, whichever comes first. The
 * topic trim (TOPIC_TRIM_AFTER_COMPACTION) keeps the records from then on.
 */
export async function compactedBefore(lake: Lake, topics: readonly string[], timeZone: string, graceMs: number, nowMs: number): Promise<Map<string, number>> {
  const firstOpen = dayInTimeZone(nowMs - graceMs, timeZone);
  const first = new Map(topics.map((topic) => [topic, firstOpen]));
  // Oldest day first: once a topic's first uncompacted day is found, later ones are not looked at.
  for (const target of await listTopicDays(lake)) {
    const known = first.get(target.topic);
    if (known !== undefined && target.day < known && (await findDayFiles(lake, target)).parts.length > 0) first.set(target.topic, target.day);
  }
  return new Map([...first].map(([topic, day]) => [topic, dayStartMs(day, timeZone)]));
}

/** Every (topic, day, kind) of the lake before `firstKept`, unless the caller still writes it. */
export async function expiredDays(lake: Lake, firstKept: number, holds: (target: TopicDay) => boolean = () => false): Promise<TopicDay[]> {
  return (await listTopicDays(lake)).filter((target) => target.day < firstKept && !holds(target));
}

export async function expireLakeDays(options: RetentionOptions, events: RetentionEvents, holds?: (target: TopicDay) => boolean): Promise<RetentionPass> {
  const { store } = options.lake;
  // Most passes find nothing to do: they do not take the lease (three requests on S3) for it.
  const targets = await expiredDays(options.lake, firstKeptDay(options.now(), options.timeZone, options.days), holds);
  if (targets.length === 0 && (await store.stat(JOURNAL_KEY)) === null) return { status: 'done', expired: [] };
  const lease = await CompactionLock.acquire(store, LEASE_KEY, options);
  if (lease === null) return { status: 'locked', expired: [] };
  const expired: DayExpired[] = [];
  try {
    const interrupted = await readJournal(options.lake);
    for (const target of interrupted === null ? targets : [interrupted, ...targets.filter((other) => !sameDay(other, interrupted))]) {
      try {
        await lease.assertHeld();
        const result = await expireDay(target, options, target === interrupted);
        // Nothing removed: another collector removed the day since it was listed.
        if (result !== null && (result.files > 0 || result.resumed)) {
          expired.push(result);
          events.lakeDayExpired(result);
        }
      } catch (error) {
        events.lakeRetentionFailed(target, error);
        // The journal may name this day, half-removed: the pass stops, and the next one starts with it.
        break;
      }
    }
  } finally {
    await lease.release();
  }
  return { status: 'done', expired };
}

/** Removes one (topic, day, kind); null when its compaction lock is held (the next pass tries again). */
async function expireDay(target: TopicDay, options: RetentionOptions, resumed: boolean): Promise<DayExpired | null> {
  const { lake } = options;
  const folder = lake.layout.dayFileFolder(target.topic, target.day, target.kind);
  const dayLock = await CompactionLock.acquire(lake.store, `${folder}${compactionLockName(target.topic)}`, options);
  if (dayLock === null) return null;
  try {
    await lake.store.replace(JOURNAL_KEY, Buffer.from(JSON.stringify(target)));
    await options.onStep?.('journaled', target);
    const marker = `${folder}${closedMarkerName(target.topic)}`;
    const hadMarker = (await lake.store.stat(marker)) !== null;
    await lake.store.remove([marker]);
    await options.onStep?.('unmarked', target);
    const files = await findDayFiles(lake, target);
    const keys = [...files.compacted, ...files.parts].map((file) => file.key);
    await dayLock.assertHeld();
    await lake.store.remove(keys);
    await options.onStep?.('removed', target);
    await lake.store.remove([JOURNAL_KEY]);
    return { target, files: keys.length + (hadMarker ? 1 : 0), resumed };
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    throw new CollectorError('LAKE_RETENTION_FAILED', `removing ${target.topic} ${isoDate(target.day)} (${target.kind}) failed: ${describeError(error)}`, {
      cause: error,
      context: { topic: target.topic, day: isoDate(target.day), kind: target.kind },
    });
  } finally {
    await dayLock.release();
  }
}

/** The day a crashed pass was removing, or null. */
async function readJournal(lake: Lake): Promise<TopicDay | null> {
  const bytes = await lake.store.read(JOURNAL_KEY);
  if (bytes === null) return null;
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<TopicDay>;
  const { topic, day, kind } = parsed;
  if (typeof topic !== 'string' || typeof day !== 'number' || (kind !== 'data' && kind !== 'dead-letter')) {
    throw new CollectorError('LAKE_RETENTION_FAILED', `unreadable retention journal ${JOURNAL_KEY}`, { context: { key: JOURNAL_KEY } });
  }
  return { topic, day, kind };
}

function sameDay(a: TopicDay, b: TopicDay): boolean {
  return a.topic === b.topic && a.day === b.day && a.kind === b.kind;
}

/** The retention step of the day closer's passes (after its compactions), or null when LAKE_RETENTION_DAYS is 0. */
export function lakeRetentionFor(
  config: Pick<CollectorConfig, 'retention' | 'lake'>,
  lake: Lake,
  run: { readonly owner: string; readonly now: () => number },
  deps: { readonly events: RetentionEvents; readonly holdsDay: (topic: string, day: number) => boolean },
): (() => Promise<void>) | null {
  const days = config.retention.lakeDays;
  if (days === 0) return null;
  const options: RetentionOptions = { lake, days, timeZone: config.lake.dayTimeZone, owner: run.owner, leaseMs: config.lake.compaction.lockLeaseMs, now: run.now };
  return async () => {
    try {
      await expireLakeDays(options, deps.events, (target) => deps.holdsDay(target.topic, target.day));
    } catch (error) {
      deps.events.lakeRetentionFailed(null, error);
    }
  };
}
