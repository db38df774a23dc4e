/** A flattened field's value (pipeline/flatten.ts FieldValue), as far as the day cut reads it. */
export type FieldValue = boolean | number | bigint | string | Uint8Array | Date | null;

/**
 * Which day a record belongs to: the calendar date, in a configured IANA time zone, of the
 * record's Kafka timestamp (the default) or of a payload field after flattening (e.g.
 * `metadata_timestamp`). A field that is missing or unparsable falls back to the Kafka timestamp
 * and says so, so the caller can count it; the record is never dropped. A day is a calendar date:
 * a daylight-saving day has 23 or 25 hours. Days are numbered like route.ts `dayOfTimestamp`
 * (days since 1970-01-01), so the lake layout names them the same way whatever the zone.
 */

const MS_PER_DAY = 86_400_000;
export const DEFAULT_TIME_ZONE = 'UTC';

export interface DayCutOptions {
  /** IANA name, e.g. `Europe/Paris`. */
  readonly timeZone: string;
  /** Flattened field name to take the instant from; null for the Kafka timestamp. */
  readonly sourceField: string | null;
}

export type DayFallback = 'field-missing' | 'field-unparsable';

export interface DayCut {
  readonly day: number;
  readonly source: 'kafka-timestamp' | 'field';
  /** Why the Kafka timestamp was used although a field was configured; null otherwise. */
  readonly fallback: DayFallback | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `name` is a time zone this runtime knows. */
export function isValidTimeZone(name: string): boolean {
  // UTC never needs a formatter, and building the first one loads ICU's zone data: a cost every
  // process would pay at start for nothing.
  if (name === DEFAULT_TIME_ZONE) return true;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Offsets change only at transitions, and every transition since time zones were standardized
 * falls on a quarter hour (UTC): the offset of a quarter hour is computed once (formatToParts
 * costs microseconds, once per record would be too much) and cached.
 */
const QUARTER_HOUR_MS = 900_000;
const MAX_CACHED_QUARTERS = 4096;
const offsetCaches = new Map<string, Map<number, number>>();

function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const quarter = Math.floor(instantMs / QUARTER_HOUR_MS);
  let cache = offsetCaches.get(timeZone);
  if (cache === undefined) {
    cache = new Map();
    offsetCaches.set(timeZone, cache);
  }
  let offset = cache.get(quarter);
  if (offset === undefined) {
    const start = quarter * QUARTER_HOUR_MS;
    const parts: Record<string, number> = {};
    for (const part of formatterFor(timeZone).formatToParts(start)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
    offset = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - start;
    if (cache.size >= MAX_CACHED_QUARTERS) cache.clear();
    cache.set(quarter, offset);
  }
  return offset;
}

/** Wall-clock fields of an instant in a zone, as the UTC instant with the same fields. */
function wallClockMs(instantMs: number, timeZone: string): number {
  return timeZone === DEFAULT_TIME_ZONE ? instantMs : instantMs + zoneOffsetMs(instantMs, timeZone);
}

/** The calendar day of an instant in a zone (days since 1970-01-01). */
export function dayInTimeZone(instantMs: number, timeZone: string): number {
  return Math.floor(wallClockMs(instantMs, timeZone) / MS_PER_DAY);
}

/**
 * The instant a calendar day begins in a zone: the first instant whose calendar day is `day`
 * (midnight, or the end of a daylight-saving gap where midnight does not exist).
 */
export function dayStartMs(day: number, timeZone: string): number {
  const localMidnight = day * MS_PER_DAY;
  // Offsets are within ±18 h: the day starts in this window; the offset there pins it down.
  let guess = localMidnight - (wallClockMs(localMidnight, timeZone) - localMidnight);
  guess = localMidnight - (wallClockMs(guess, timeZone) - guess);
  if (dayInTimeZone(guess, timeZone) < day) {
    // Midnight fell in a gap: search forward by minutes for the first instant of the day.
    while (dayInTimeZone(guess, timeZone) < day) guess += 60_000;
    guess -= wallClockMs(guess, timeZone) % 60_000;
  }
  while (dayInTimeZone(guess - 1, timeZone) >= day) guess -= 60_000;
  return guess;
}

/** Whether a day is over in its zone, grace period included, at `nowMs`. */
export function isDayClosed(day: number, timeZone: string, graceMs: number, nowMs: number): boolean {
  return nowMs >= dayStartMs(day + 1, timeZone) + graceMs;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const NUMBER_TEXT = /^-?\d+(\.\d+)?$/;
/** Epoch values below these magnitudes are seconds, milliseconds, microseconds (then nanoseconds). */
const SECONDS_BELOW = 1e11;
const MILLISECONDS_BELOW = 1e14;
const MICROSECONDS_BELOW = 1e17;

/**
 * The instant a field value stands for, or null: a Date (MessagePack timestamp), ISO-8601 text
 * (without an offset: UTC), or epoch seconds, milliseconds or microseconds (as a number, bigint
 * or numeric text), told apart by magnitude: below 1e11 seconds (until year 5138), below 1e14
 * milliseconds, below 1e17 microseconds, else nanoseconds.
 */
export function instantOfValue(value: FieldValue | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return finiteOrNull(value.getTime());
  if (typeof value === 'number' || typeof value === 'bigint') return epochToMs(Number(value));
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (NUMBER_TEXT.test(text)) return epochToMs(Number(text));
  if (!ISO_8601.test(text)) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) && text.length > 10;
  const normalized = text.replace(' ', 'T');
  return finiteOrNull(Date.parse(hasZone || normalized.length === 10 ? normalized : `${normalized}Z`));
}

function epochToMs(value: number): number | null {
  if (!Number.isFinite(value)) return null;
  const magnitude = Math.abs(value);
  if (magnitude < SECONDS_BELOW) return Math.round(value * 1000);
  if (magnitude < MILLISECONDS_BELOW) return Math.round(value);
  if (magnitude < MICROSECONDS_BELOW) return Math.round(value / 1000);
  return Math.round(value / 1e6);
}

function finiteOrNull(ms: number): number | null {
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The day of a record. `field` looks a flattened field up by name (undefined when absent);
 * records without a Kafka timestamp (negative) fall to day 0, as the pipeline's route.ts does.
 */
export function cutDay(kafkaTimestampMs: number, field: (name: string) => FieldValue | undefined, options: DayCutOptions): DayCut {
  const fromKafka = (fallback: DayFallback | null): DayCut => ({
    day: kafkaTimestampMs >= 0 ? dayInTimeZone(kafkaTimestampMs, options.timeZone) : 0,
    source: 'kafka-timestamp',
    fallback,
  });
  if (options.sourceField === null) return fromKafka(null);
  const value = field(options.sourceField);
  if (value === null || value === undefined) return fromKafka('field-missing');
  const instant = instantOfValue(value);
  if (instant === null) return fromKafka('field-unparsable');
  return { day: dayInTimeZone(instant, options.timeZone), source: 'field', fallback: null };
}
