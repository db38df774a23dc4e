import { readFileSync } from 'node:fs';
import type { ColumnType } from '../parquet/batch';

/**
 * Columns declared up front, for users who want a topic's table fixed rather than learned: a JSON
 * file (SCHEMA_FILE) naming per topic its columns' types and what to do with a value that does not
 * fit (`null`: write null and count it; `dead-letter`: send the record to the dead letters). A
 * declared column is in every file of its topic, with its type, whatever the data holds. Fields
 * not declared are learned as usual (lake/topic-schema.ts). TIMESTAMP_FIELDS declare timestamp
 * columns of every topic, their misfits nulled (a topic's own declaration of the field wins).
 *
 * ```json
 * { "market_data": { "onMisfit": "dead-letter", "columns": { "price": "double", "at": "timestamp" } } }
 * ```
 */

export type MisfitPolicy = 'null' | 'dead-letter';

export interface DeclaredColumn {
  readonly type: ColumnType;
  readonly onMisfit: MisfitPolicy;
}

/** Per topic, its declared columns by name, in the file's order. */
export type DeclaredTopics = ReadonlyMap<string, ReadonlyMap<string, DeclaredColumn>>;

const TYPES: Readonly<Record<string, ColumnType>> = { boolean: 'boolean', int64: 'int64', double: 'double', string: 'string', binary: 'binary', timestamp: 'timestamp_ms' };
const POLICIES: ReadonlySet<string> = new Set<MisfitPolicy>(['null', 'dead-letter']);

/** The declared topics of SCHEMA_FILE ('' : none); throws an Error saying what is wrong with the file. */
export function readDeclaredSchemas(file: string): DeclaredTopics {
  if (file === '') return new Map();
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  return parseDeclaredSchemas(content, file);
}

export function parseDeclaredSchemas(content: unknown, file: string): DeclaredTopics {
  if (!isRecord(content)) throw new Error(`${file} must hold an object of topics`);
  const topics = new Map<string, Map<string, DeclaredColumn>>();
  for (const [topic, declaration] of Object.entries(content)) {
    if (!isRecord(declaration) || !isRecord(declaration.columns)) throw new Error(`${file}: topic ${topic} needs "columns": {"<column>": "<type>", …}`);
    const onMisfit = declaration.onMisfit ?? 'null';
    if (typeof onMisfit !== 'string' || !POLICIES.has(onMisfit)) throw new Error(`${file}: topic ${topic}: "onMisfit" is "null" or "dead-letter", not ${JSON.stringify(onMisfit)}`);
    const columns = new Map<string, DeclaredColumn>();
    for (const [name, typeName] of Object.entries(declaration.columns)) {
      const type = typeof typeName === 'string' && Object.hasOwn(TYPES, typeName) ? TYPES[typeName] : undefined;
      if (type === undefined) throw new Error(`${file}: ${topic}.${name}: the type is one of ${Object.keys(TYPES).join(', ')}, not ${JSON.stringify(typeName)}`);
      columns.set(name, { type, onMisfit: onMisfit as MisfitPolicy });
    }
    topics.set(topic, columns);
  }
  return topics;
}

/** The fields of a topic with a declared type: TIMESTAMP_FIELDS (misfits nulled), then the topic's declaration. */
export function declaredFieldsOf(declared: DeclaredTopics, timestampFields: readonly string[], topic: string): Map<string, DeclaredColumn> {
  const fields = new Map<string, DeclaredColumn>(timestampFields.map((name) => [name, { type: 'timestamp_ms', onMisfit: 'null' }]));
  for (const [name, column] of declared.get(topic) ?? []) fields.set(name, column);
  return fields;
}

/** The metrics' and dead letters' reason for a value that is not of `type`: `not-a-double`, `not-a-timestamp`, … */
export function misfitReason(type: ColumnType): string {
  return `not-a-${type === 'timestamp_ms' ? 'timestamp' : type}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
