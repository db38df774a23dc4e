/**
 * Replicas widening one topic's schema at the same time, on a real store (the local one in the
 * unit test, S3 in the integration test): each replica is its own TopicSchemas, as in its own
 * process, and all of them settle at once.
 */
import type { ColumnType } from '../../src/parquet/batch';
import type { Lake } from '../../src/lake/lake';
import { parseTopicSchema, TopicSchemas, wideningsFor, type TopicSchema } from '../../src/lake/topic-schema';
import { schemaVersionName, topicSchemaFolder } from '../../src/lake/layout';
import type { LakeStore } from '../../src/lake/store/lake-store';

export interface RaceOutcome {
  /** What each replica's settle answered, in replica order. */
  readonly answers: ReadonlyArray<TopicSchema | null>;
  /** Every version in the lake, oldest first. */
  readonly versions: readonly TopicSchema[];
  /** Creates a replica lost (the version existed). */
  readonly lostRaces: number;
}

/** The store, counting the creates that found their key taken (everything else passes through). */
function counting(store: LakeStore, lost: { count: number }): LakeStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'create') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<LakeStore['create']>) => {
        const created = await target.create(...args);
        if (!created) lost.count++;
        return created;
      };
    },
  });
}

export async function raceReplicas(lake: Lake, topic: string, observed: ReadonlyArray<ReadonlyArray<readonly [string, ColumnType | null]>>): Promise<RaceOutcome> {
  const lost = { count: 0 };
  const replicas = observed.map((_, i) => new TopicSchemas({ lake: { ...lake, store: counting(lake.store, lost) }, instanceId: `replica-${i}`, now: Date.now }));
  const answers = await Promise.all(replicas.map((replica, i) => replica.settle(topic, observed[i])));
  return { answers, versions: await allVersions(lake, topic), lostRaces: lost.count };
}

/** Every version of the topic's schema, read by a fresh reader from version 1 on. */
export async function allVersions(lake: Lake, topic: string): Promise<TopicSchema[]> {
  const newest = await new TopicSchemas({ lake, instanceId: 'reader', now: Date.now }).newest(topic);
  const versions: TopicSchema[] = [];
  let columns: TopicSchema['columns'] = [];
  for (let version = 1; version <= (newest?.version ?? 0); version++) {
    const schema = await readVersion(lake, topic, version);
    versions.push(schema);
    // Each version covers the one before: nothing it knew is narrowed or dropped.
    if (wideningsFor(schema.columns, columns.map((column) => [column.name, column.type])).length > 0) throw new Error(`version ${version} narrows version ${version - 1}`);
    columns = schema.columns;
  }
  return versions;
}

async function readVersion(lake: Lake, topic: string, version: number): Promise<TopicSchema> {
  const key = `${topicSchemaFolder(lake.layout.name, topic)}${schemaVersionName(version)}`;
  const bytes = await lake.store.read(key);
  if (bytes === null) throw new Error(`version ${version} of ${topic} is missing below the newest`);
  return parseTopicSchema(bytes, key, topic, version);
}

/** Whether `schema` holds every typed column of `observed` with a type at least as wide. */
export function covers(schema: TopicSchema | null, observed: ReadonlyArray<readonly [string, ColumnType | null]>): boolean {
  return wideningsFor(schema?.columns ?? [], observed).length === 0;
}
