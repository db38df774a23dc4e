import { CollectorError } from '../errors';
import type { ColumnType } from '../parquet/batch';
import { widen } from '../parquet/schema';
import type { Lake } from './lake';
import { schemaVersionName, topicSchemaFolder, versionOfSchemaName } from './layout';

/**
 * One schema per topic, kept in the lake beside its data and shared by every process and replica
 * that writes the topic: the columns, in order, with the type every file of the topic is written
 * with. It is only ever widened, along parquet/schema.ts's lattice (a column is added, or its type
 * joined with a new one), never narrowed.
 *
 * Each widening is a new numbered version (`v000001.json`, `v000002.json`, …), created only if
 * absent through LakeStore.create (O_EXCL/link on a disk, `If-None-Match: *` on S3) and never
 * replaced. Version n+1 is version n joined with what its writer saw, so the versions form one
 * chain that only grows. Two writers widening at once both try to create the same next version:
 * one wins; the other reads the winner, joins its own columns into it and creates the version
 * after. No column is lost (every writer returns only once a version holding its columns exists)
 * and nothing flip-flops (each version covers the one before). A crash leaves a version whole or
 * absent, and a version whose file was never written only makes later files carry a null column.
 */

export interface SchemaColumn {
  readonly name: string;
  readonly type: ColumnType;
}

/** A column a version added (`from` null) or whose type it widened. */
export interface Widening {
  readonly column: string;
  readonly from: ColumnType | null;
  readonly to: ColumnType;
}

export interface TopicSchema {
  readonly topic: string;
  readonly version: number;
  readonly columns: readonly SchemaColumn[];
  /** What this version changed from the one before it. */
  readonly widened: readonly Widening[];
  /** When and by which collector instance the version was created. */
  readonly createdAt: string;
  readonly createdBy: string;
}

/** Column types as a writer saw them, in order; null for a column that held only nulls (it has no type yet). */
export type ObservedColumns = Iterable<readonly [string, ColumnType | null]>;

const FORMAT = 1;
const COLUMN_TYPES: ReadonlySet<string> = new Set<ColumnType>(['boolean', 'int64', 'double', 'string', 'binary', 'timestamp_ms']);
/** Lost races in one settle before giving up for this attempt (each loss means another writer moved on). */
const MAX_LOST_RACES = 32;

/** What `observed` needs of a schema with `columns`: the columns to add and the types to widen, in observed order. */
export function wideningsFor(columns: readonly SchemaColumn[], observed: ObservedColumns): Widening[] {
  const known = new Map(columns.map((column) => [column.name, column.type]));
  const widenings: Widening[] = [];
  for (const [column, type] of observed) {
    if (type === null) continue;
    const from = known.get(column) ?? null;
    const to = from === null ? type : widen(from, type);
    if (to === from) continue;
    widenings.push({ column, from, to });
    known.set(column, to);
  }
  return widenings;
}

/** The columns after the widenings: widened types in place, added columns at the end in their order. */
export function applyWidenings(columns: readonly SchemaColumn[], widenings: readonly Widening[]): SchemaColumn[] {
  const types = new Map(columns.map((column) => [column.name, column.type]));
  for (const { column, to } of widenings) types.set(column, to);
  return [...types].map(([name, type]) => ({ name, type }));
}

/** Column types of several files (or batches) joined, in order of first appearance; null-only columns stay null. */
export function joinObserved(sources: ReadonlyArray<ObservedColumns>): Map<string, ColumnType | null> {
  const joined = new Map<string, ColumnType | null>();
  for (const source of sources) {
    for (const [name, type] of source) {
      const current = joined.get(name) ?? null;
      joined.set(name, type === null ? current : current === null ? type : widen(current, type));
    }
  }
  return joined;
}

export function serializeTopicSchema(schema: TopicSchema): Uint8Array {
  return Buffer.from(`${JSON.stringify({ format: FORMAT, ...schema }, null, 2)}\n`, 'utf8');
}

/** A version file's content; throws TOPIC_SCHEMA_INVALID for anything the collector did not write. */
export function parseTopicSchema(bytes: Uint8Array, key: string, topic: string, version: number): TopicSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw invalid(key, `not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid(key, 'not an object');
  const fields = parsed as Record<string, unknown>;
  if (fields.format !== FORMAT) throw invalid(key, `format ${String(fields.format)}, not ${FORMAT}`);
  if (fields.topic !== topic || fields.version !== version) throw invalid(key, `it names topic ${String(fields.topic)} version ${String(fields.version)}`);
  const columns = Array.isArray(fields.columns) ? fields.columns.map((column: unknown) => schemaColumn(column, key)) : null;
  if (columns === null) throw invalid(key, 'no columns');
  return {
    topic,
    version,
    columns,
    widened: Array.isArray(fields.widened) ? (fields.widened as Widening[]) : [],
    createdAt: typeof fields.createdAt === 'string' ? fields.createdAt : '',
    createdBy: typeof fields.createdBy === 'string' ? fields.createdBy : '',
  };
}

function schemaColumn(value: unknown, key: string): SchemaColumn {
  const column = value as Partial<Record<keyof SchemaColumn, unknown>> | null;
  if (typeof column?.name !== 'string' || typeof column.type !== 'string' || !COLUMN_TYPES.has(column.type)) throw invalid(key, `a column is not a name and a type: ${JSON.stringify(value)}`);
  return { name: column.name, type: column.type as ColumnType };
}

function invalid(key: string, why: string): CollectorError {
  return new CollectorError('TOPIC_SCHEMA_INVALID', `${key} is not a topic schema version: ${why}`, { context: { key } });
}

/** Whether a file's columns are exactly `columns`: the same names in the same order, with the same types. */
export function haveColumns(file: ReadonlyArray<{ readonly name: string; readonly type: ColumnType | null }>, columns: readonly SchemaColumn[]): boolean {
  return file.length === columns.length && file.every((column, i) => column.name === columns[i].name && column.type === columns[i].type);
}

export interface TopicSchemasOptions {
  readonly lake: Lake;
  /** The collector instance, recorded in the versions it creates. */
  readonly instanceId: string;
  readonly now: () => number;
  /** A version this process created (the writer reports it as an event). */
  readonly onWidened?: (schema: TopicSchema) => void;
}

/**
 * The topic schemas of one process: the newest version seen per topic, and the settles of one
 * topic run one at a time (two batches of a topic widening at once would only race each other).
 */
export class TopicSchemas {
  private readonly newestSeen = new Map<string, TopicSchema>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: TopicSchemasOptions) {}

  /**
   * The topic's newest schema once it covers `observed`, widened in the lake first when it does
   * not; null only when the topic has no schema and `observed` types nothing. Reads one key when
   * nothing changed (whether a newer version exists), so each file is written with the newest.
   */
  settle(topic: string, observed: ObservedColumns): Promise<TopicSchema | null> {
    const columns = [...observed];
    const previous = this.queues.get(topic) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.settleNow(topic, columns));
    this.queues.set(topic, next);
    return next;
  }

  /** The topic's newest schema in the lake, or null when it has none. */
  newest(topic: string): Promise<TopicSchema | null> {
    return this.settle(topic, []);
  }

  /** Every version of the topic's schema, oldest first (`inspect --schema`). */
  async history(topic: string): Promise<TopicSchema[]> {
    const newest = await this.newest(topic);
    const versions: TopicSchema[] = [];
    for (let version = 1; version < (newest?.version ?? 0); version++) {
      const schema = await this.readVersion(topic, version);
      if (schema === null) throw invalid(this.keyOf(topic, version), `missing below version ${newest?.version}`);
      versions.push(schema);
    }
    return newest === null ? [] : [...versions, newest];
  }

  private async settleNow(topic: string, observed: ObservedColumns): Promise<TopicSchema | null> {
    let schema = await this.readForward(topic, this.newestSeen.get(topic) ?? (await this.listNewest(topic)));
    for (let lost = 0; lost < MAX_LOST_RACES; lost++) {
      const widenings = wideningsFor(schema?.columns ?? [], observed);
      if (widenings.length === 0) return schema;
      const next: TopicSchema = {
        topic,
        version: (schema?.version ?? 0) + 1,
        columns: applyWidenings(schema?.columns ?? [], widenings),
        widened: widenings,
        createdAt: new Date(this.options.now()).toISOString(),
        createdBy: this.options.instanceId,
      };
      if (await this.options.lake.store.create(this.keyOf(topic, next.version), serializeTopicSchema(next))) {
        this.newestSeen.set(topic, next);
        this.options.onWidened?.(next);
        return next;
      }
      // Another writer created that version (or this one did, and the answer was lost): join it.
      schema = await this.readForward(topic, schema);
    }
    throw new CollectorError('TOPIC_SCHEMA_CONTENDED', `the schema of topic ${topic} was widened by others ${MAX_LOST_RACES} times while this writer tried`, { context: { topic } });
  }

  /** The newest version from `from` on, reading the next key until one is absent. */
  private async readForward(topic: string, from: TopicSchema | null): Promise<TopicSchema | null> {
    let schema = from;
    for (;;) {
      const version = (schema?.version ?? 0) + 1;
      const read = await this.readVersion(topic, version);
      if (read === null) break;
      schema = read;
    }
    if (schema !== null) this.newestSeen.set(topic, schema);
    return schema;
  }

  /** The newest version the folder lists (one listing, at a process's first look at the topic). */
  private async listNewest(topic: string): Promise<TopicSchema | null> {
    const folder = topicSchemaFolder(this.options.lake.layout.name, topic);
    const listing = await this.options.lake.store.list(folder, { delimiter: true });
    let newest = 0;
    for (const object of listing.objects) newest = Math.max(newest, versionOfSchemaName(object.key.slice(folder.length)) ?? 0);
    return newest === 0 ? null : this.readVersion(topic, newest);
  }

  private async readVersion(topic: string, version: number): Promise<TopicSchema | null> {
    const key = this.keyOf(topic, version);
    const bytes = await this.options.lake.store.read(key);
    return bytes === null ? null : parseTopicSchema(bytes, key, topic, version);
  }

  private keyOf(topic: string, version: number): string {
    return `${topicSchemaFolder(this.options.lake.layout.name, topic)}${schemaVersionName(version)}`;
  }
}
