import { parseArgs } from 'node:util';
import { dayOfIsoDate } from '../lake/layout';
import { dayInTimeZone } from '../lake/day-cut';
import { COMMON_FLAGS, commandConfig, commandFailed, commandLake } from './command-support';
import { formatRanges } from './verify-report';
import { inspectLake, inspectSchemas, type InspectResult, type TopicDayReport, type TopicSchemaReport } from './inspect';

/** `redpanda-parquet-collector inspect [YYYY-MM-DD | YYYY/MM/DD | today] [--topic T]… [--schema] [--json]`. */

export const INSPECT_USAGE = `Usage: redpanda-parquet-collector inspect [YYYY-MM-DD | YYYY/MM/DD | today] [options]

Without a day: the days and topics in OUTPUT_DIR, each with its files and rows (footers only).
With a day: per topic, the files (compacted or parts), rows, columns with types and null counts,
offset ranges per partition with gaps, min/max/mean of numeric columns and the first rows.
"today" is the collector's day (DAY_TIME_ZONE), not the machine's local date.
With --schema: each topic's schema (the columns and types its files are written with) and when
each widening happened.

Options:
  --topic T           only this topic (repeatable)
  --schema            the topics' schemas and their widenings, instead of files
  --rows N            first rows shown per topic (default 5)
  --output-dir DIR    the lake (else OUTPUT_DIR / the config file)
  --config FILE       config file
  --json              machine-readable output`;

const DEFAULT_FIRST_ROWS = 5;

export async function runInspectCommand(argv: readonly string[], nowMs = Date.now()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        topic: { type: 'string', multiple: true, default: [] },
        rows: { type: 'string' },
        schema: { type: 'boolean', default: false },
        ...COMMON_FLAGS,
      },
      strict: true,
      allowPositionals: true,
    });
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${INSPECT_USAGE}\n`);
      return 0;
    }
    if (positionals.length > 1) throw new RangeError('inspect takes at most one day');
    const firstRows = values.rows === undefined ? DEFAULT_FIRST_ROWS : Number(values.rows);
    if (!Number.isSafeInteger(firstRows) || firstRows < 0) throw new RangeError(`--rows takes a number of rows, not ${JSON.stringify(values.rows)}`);
    const config = commandConfig(values);
    if (values.schema) {
      if (positionals.length > 0) throw new RangeError('inspect --schema takes no day: a schema is the topic\'s, across days');
      const reports = await inspectSchemas(commandLake(config), values.topic, nowMs);
      process.stdout.write(`${values.json ? JSON.stringify(reports, null, 2) : formatSchemaReports(reports)}\n`);
      return 0;
    }
    const day = positionals.length === 0 ? undefined : parseInspectDay(positionals[0], nowMs, config.lake.dayTimeZone);
    const result = await inspectLake({ lake: commandLake(config), day, topics: values.topic, firstRows });
    process.stdout.write(`${values.json ? JSON.stringify(result, null, 2) : formatInspectResult(result)}\n`);
    return 0;
  } catch (error) {
    return commandFailed(error, parsed !== undefined);
  }
}

/** `YYYY-MM-DD`, `YYYY/MM/DD` or `today` (in the collector's time zone) as a day number. */
export function parseInspectDay(text: string, nowMs: number, timeZone: string): number {
  if (text === 'today') return dayInTimeZone(nowMs, timeZone);
  const day = dayOfIsoDate(text.replace(/\//g, '-'));
  if (day === null) throw new RangeError(`a day is YYYY-MM-DD, YYYY/MM/DD or today, not ${JSON.stringify(text)}`);
  return day;
}

export function formatSchemaReports(reports: readonly TopicSchemaReport[]): string {
  if (reports.length === 0) return 'no topics';
  const lines: string[] = [];
  for (const { topic, versions } of reports) {
    const newest = versions.at(-1);
    if (newest === undefined) {
      lines.push(`== ${topic}: no schema yet`, '');
      continue;
    }
    lines.push(`== ${topic}: schema version ${newest.version}`, '  column\ttype');
    for (const column of newest.columns) lines.push(`  ${column.name}\t${column.type}`);
    lines.push('  version\tcreated\tby\twidened');
    for (const version of versions) {
      const widened = version.widened.map(({ column, from, to }) => (from === null ? `+${column} ${to}` : `${column} ${from} -> ${to}`)).join(', ');
      lines.push(`  v${version.version}\t${version.createdAt}\t${version.createdBy}\t${widened}`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

export function formatInspectResult(result: InspectResult): string {
  const lines = [`days: ${result.days.join(', ') || '-'}`, `topics: ${result.topics.join(', ') || '-'}`, ''];
  if (result.entries.length === 0) return [...lines, 'nothing for this day and topic'].join('\n');
  if (result.entries.every((entry) => entry.columns === undefined)) {
    lines.push('day\ttopic\tkind\tstate\tfiles\trows');
    for (const e of result.entries) lines.push([e.date, e.topic, e.kind, e.state, e.files.length, e.rows].join('\t'));
    return lines.join('\n');
  }
  for (const entry of result.entries) lines.push(...describeEntry(entry), '');
  return lines.join('\n').trimEnd();
}

function describeEntry(e: TopicDayReport): string[] {
  const lines = [`== ${e.topic} ${e.date}${e.kind === 'dead-letter' ? ' (dead letters)' : ''}: ${e.state}, ${e.rows} rows in ${e.files.length} file(s)`];
  for (const file of e.files) lines.push(`  ${file.form}\t${file.rows} rows\t${file.bytes} bytes\t${file.path}`);
  lines.push('  partition\toffsets\tgaps');
  for (const p of e.offsets) lines.push(`  ${p.partition}\t${formatRanges(p.ranges)}\t${formatRanges(p.gaps)}`);
  lines.push('  column\ttype\tnulls\tmin\tmax\tmean');
  for (const c of e.columns ?? []) lines.push(`  ${[c.name, c.type, c.nulls, c.min ?? '', c.max ?? '', c.mean === undefined ? '' : Number(c.mean.toPrecision(6))].join('\t')}`);
  if ((e.firstRows ?? []).length > 0) {
    lines.push('  first rows:');
    for (const row of e.firstRows ?? []) lines.push(`  ${JSON.stringify(row)}`);
  }
  return lines;
}
