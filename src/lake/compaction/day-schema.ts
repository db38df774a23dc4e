import type { ColumnType } from '../../parquet/batch';
import { joinObserved, TopicSchemas, type SchemaColumn, type TopicSchemasOptions } from '../topic-schema';
import type { SourceColumn, SourceSummary } from './plan';
import { nullOnlyColumns } from './sources';

/**
 * The columns a closed day of a data topic is compacted with: the topic's schema
 * (lake/topic-schema.ts), widened first by the columns the day's files hold (files written before
 * the topic had a schema). A column the files hold only as nulls and the schema does not know has
 * no type, and is left out.
 *
 * An earlier collector typed a column of only nulls as text. Taken as it is, such a file would
 * widen the topic's schema to string (the very split this schema ends); so a text column whose type
 * is another one, or none, everywhere else (the schema, the files' other columns) is read, that
 * column alone, to tell, and counts as no type when it holds only nulls.
 */
export async function compactionColumns(options: TopicSchemasOptions, topic: string, sources: readonly SourceSummary[]): Promise<SchemaColumn[]> {
  const schemas = new TopicSchemas(options);
  const known = (await schemas.newest(topic))?.columns ?? [];
  const elsewhere = joinObserved([known.map(typed), ...sources.map((source) => source.columns.filter((column) => column.type !== 'string').map(typed))]);
  const observed: Array<Array<readonly [string, ColumnType | null]>> = [];
  for (const source of sources) {
    const suspects = source.columns.filter((column) => column.type === 'string' && elsewhere.get(column.name) !== 'string').map((column) => column.name);
    const nullOnly = suspects.length === 0 ? new Set<string>() : await nullOnlyColumns(options.lake.store, source.key, suspects);
    observed.push(source.columns.map((column) => [column.name, nullOnly.has(column.name) ? null : column.type]));
  }
  const schema = await schemas.settle(topic, joinObserved(observed));
  return [...(schema?.columns ?? [])];
}

function typed(column: SourceColumn | SchemaColumn): readonly [string, ColumnType | null] {
  return [column.name, column.type];
}
