import { cutDay, dayInTimeZone, dayStartMs, instantOfValue, isDayClosed, isValidTimeZone } from '../../../src/lake/day-cut';
import { dayFolder } from '../../../src/lake/layout';
import { dayOfTimestamp } from '../../../src/pipeline/route';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const HOUR = 3_600_000;

describe('dayInTimeZone', () => {
  it('agrees with dayOfTimestamp in UTC', () => {
    for (const ms of [0, Date.UTC(2025, 9, 17, 23, 59, 59, 999), Date.UTC(2025, 9, 18), Date.UTC(2024, 1, 29, 12)]) {
      expect(dayInTimeZone(ms, 'UTC')).toBe(dayOfTimestamp(ms));
    }
  });

  it.each([
    ['2025-10-17T22:30:00Z', 'Europe/Paris', '2025/10/18'],
    ['2025-10-17T21:59:59.999Z', 'Europe/Paris', '2025/10/17'],
    ['2025-10-17T03:00:00Z', 'America/New_York', '2025/10/16'],
    ['2025-10-17T18:29:59Z', 'Asia/Kolkata', '2025/10/17'],
    ['2025-10-17T18:30:00Z', 'Asia/Kolkata', '2025/10/18'],
    ['2025-10-17T11:15:00Z', 'Pacific/Chatham', '2025/10/18'],
  ])('puts %s on the calendar day of %s: %s', (iso, zone, folder) => {
    expect(dayFolder(dayInTimeZone(Date.parse(iso), zone))).toBe(folder);
  });
});

describe('dayInTimeZone against Intl directly', () => {
  it('agrees at random instants in zones with DST, half-hour and 45-minute offsets', () => {
    const zones = ['Europe/Paris', 'America/New_York', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'Africa/Casablanca'];
    let seed = 42;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const zone of zones) {
      const format = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      for (let i = 0; i < 500; i++) {
        const instant = Math.floor(Date.UTC(1975, 0, 1) + random() * (Date.UTC(2060, 0, 1) - Date.UTC(1975, 0, 1)));
        expect([zone, new Date(instant).toISOString(), dayFolder(dayInTimeZone(instant, zone)).replace(/\//g, '-')]).toEqual([zone, new Date(instant).toISOString(), format.format(instant)]);
      }
    }
  });
});

describe('dayStartMs and daylight saving', () => {
  it('gives a 23-hour spring-forward day and a 25-hour fall-back day in Paris', () => {
    const spring = day('2025-03-30');
    const fall = day('2025-10-26');
    expect(dayStartMs(spring + 1, 'Europe/Paris') - dayStartMs(spring, 'Europe/Paris')).toBe(23 * HOUR);
    expect(dayStartMs(fall + 1, 'Europe/Paris') - dayStartMs(fall, 'Europe/Paris')).toBe(25 * HOUR);
    expect(new Date(dayStartMs(fall, 'Europe/Paris')).toISOString()).toBe('2025-10-25T22:00:00.000Z');
  });

  it('keeps every instant of a DST day on that day, and the next hour on the next', () => {
    const fall = day('2025-11-02');
    const start = dayStartMs(fall, 'America/New_York');
    const end = dayStartMs(fall + 1, 'America/New_York');
    expect(end - start).toBe(25 * HOUR);
    for (let t = start; t < end; t += 15 * 60_000) expect(dayInTimeZone(t, 'America/New_York')).toBe(fall);
    expect(dayInTimeZone(end, 'America/New_York')).toBe(fall + 1);
    expect(dayInTimeZone(start - 1, 'America/New_York')).toBe(fall - 1);
  });

  it('starts a day whose midnight does not exist at the end of the gap (Chile, 2022-09-11)', () => {
    const gapDay = day('2022-09-11');
    const start = dayStartMs(gapDay, 'America/Santiago');
    expect(new Date(start).toISOString()).toBe('2022-09-11T04:00:00.000Z');
    expect(dayInTimeZone(start, 'America/Santiago')).toBe(gapDay);
    expect(dayInTimeZone(start - 1, 'America/Santiago')).toBe(gapDay - 1);
  });

  it('closes a day once it is over in its zone plus the grace period', () => {
    const d = day('2025-10-17');
    const end = Date.parse('2025-10-17T22:00:00Z');
    expect(isDayClosed(d, 'Europe/Paris', 0, end - 1)).toBe(false);
    expect(isDayClosed(d, 'Europe/Paris', 0, end)).toBe(true);
    expect(isDayClosed(d, 'Europe/Paris', 30 * 60_000, end + 29 * 60_000)).toBe(false);
    expect(isDayClosed(d, 'UTC', 0, Date.parse('2025-10-18T00:00:00Z'))).toBe(true);
  });
});

describe('instantOfValue', () => {
  const at = Date.parse('2025-10-17T10:30:00Z');
  it.each<[string, Parameters<typeof instantOfValue>[0], number | null]>([
    ['ISO-8601 with Z', '2025-10-17T10:30:00Z', at],
    ['ISO-8601 with an offset', '2025-10-17T12:30:00+02:00', at],
    ['ISO-8601 with milliseconds and no zone (UTC)', '2025-10-17T10:30:00.000', at],
    ['ISO-8601 with a space', '2025-10-17 10:30:00Z', at],
    ['a date only', '2025-10-17', Date.parse('2025-10-17T00:00:00Z')],
    ['epoch seconds', at / 1000, at],
    ['epoch seconds with a fraction', at / 1000 + 0.25, at + 250],
    ['epoch milliseconds', at, at],
    ['epoch microseconds as bigint', BigInt(at) * 1000n, at],
    ['epoch nanoseconds as text', `${BigInt(at) * 1_000_000n}`, at],
    ['epoch seconds as text', String(at / 1000), at],
    ['a timestamp value', new Date(at), at],
    ['text that is no time', 'yesterday', null],
    ['a malformed date', '2025-13-45T99:00:00Z', null],
    ['a boolean', true, null],
    ['bytes', new Uint8Array([1]), null],
    ['null', null, null],
  ])('reads %s', (_name, value, expected) => {
    expect(instantOfValue(value)).toBe(expected);
  });
});

describe('cutDay', () => {
  const kafkaTs = Date.parse('2025-10-17T23:30:00Z');
  const fields = (values: Record<string, unknown>) => (name: string) => values[name] as Parameters<typeof instantOfValue>[0];

  it('uses the Kafka timestamp by default', () => {
    expect(cutDay(kafkaTs, fields({}), { timeZone: 'UTC', sourceField: null })).toEqual({ day: day('2025-10-17'), source: 'kafka-timestamp', fallback: null });
    expect(cutDay(kafkaTs, fields({}), { timeZone: 'Europe/Paris', sourceField: null }).day).toBe(day('2025-10-18'));
    expect(cutDay(-1, fields({}), { timeZone: 'UTC', sourceField: null }).day).toBe(0);
  });

  it('uses the payload field when it parses, in the configured zone', () => {
    const cut = cutDay(kafkaTs, fields({ metadata_timestamp: '2025-10-16T23:30:00Z' }), { timeZone: 'Asia/Tokyo', sourceField: 'metadata_timestamp' });
    expect(cut).toEqual({ day: day('2025-10-17'), source: 'field', fallback: null });
  });

  it('falls back to the Kafka timestamp and says why when the field is missing or unparsable', () => {
    const options = { timeZone: 'UTC', sourceField: 'metadata_timestamp' };
    expect(cutDay(kafkaTs, fields({}), options)).toEqual({ day: day('2025-10-17'), source: 'kafka-timestamp', fallback: 'field-missing' });
    expect(cutDay(kafkaTs, fields({ metadata_timestamp: null }), options).fallback).toBe('field-missing');
    expect(cutDay(kafkaTs, fields({ metadata_timestamp: 'soon' }), options)).toEqual({ day: day('2025-10-17'), source: 'kafka-timestamp', fallback: 'field-unparsable' });
  });

  it('knows valid zone names', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
