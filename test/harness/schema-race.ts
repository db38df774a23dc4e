/**
 * Replicas widening one topic's schema at the same time, on a real store (the local one in the
 * unit test, S3 in the integration test): each replica is its own TopicSchemas, as in its own
 * process, and all of them settle at once.
 */
import type { ColumnType } from '../../src/parquet/batch';
import type { Lake } from '../../src/lake/lake';
import { TopicSchemas, wideningsFor, type TopicSchema } from '../../src/lake/topic-schema';
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

export async function raceReplicas(lake: Lake, topic: string, observed: readonly Observed[]): Promise<RaceOutcome> {
  const lost = { count: 0 };
  const replicas = observed.map((_, i) => new TopicSchemas({ lake: { ...lake, store: counting(lake.store, lost) }, instanceId: `replica-${i}`, now: Date.now }));
  const answers = await Promise.all(replicas.map((replica, i) => replica.settle(topic, observed[i])));
  return { answers, versions: await allVersions(lake, topic), lostRaces: lost.count };
}

/** Every version of the topic's schema, read by a fresh reader, checked to only ever widen. */
export async function allVersions(lake: Lake, topic: string): Promise<TopicSchema[]> {
  const versions = await new TopicSchemas({ lake, instanceId: 'reader', now: Date.now }).history(topic);
  versions.forEach((schema, i) => {
    const before = i === 0 ? [] : versions[i - 1].columns.map((column) => [column.name, column.type] as const);
    if (schema.version !== i + 1 || !covers(schema, before)) throw new Error(`version ${schema.version} does not cover version ${i}`);
  });
  return versions;
}

/** Whether `schema` holds every typed column of `observed` with a type at least as wide. */
export function covers(schema: TopicSchema | null, observed: Observed): boolean {
  return wideningsFor(schema?.columns ?? [], observed).length === 0;
}

export type Observed = ReadonlyArray<readonly [string, ColumnType | null]>;

/** Two replicas widening one column (and each adding its own) at once. */
export const TWO_REPLICAS: readonly Observed[] = [
  [['x', 'int64'], ['a', 'string'], ['n', null]],
  [['x', 'double'], ['b', 'boolean']],
];
export const TWO_REPLICAS_JOINED = { x: 'double', a: 'string', b: 'boolean' };

/** Eight replicas widening `shared` to different types, each adding a column of its own. */
export const EIGHT_REPLICAS: readonly Observed[] = Array.from({ length: 8 }, (_, i): Observed => [
  ['shared', i === 5 ? 'string' : i % 2 === 0 ? 'double' : 'int64'],
  [`own${i}`, 'int64'],
]);
export const EIGHT_REPLICAS_JOINED = { shared: 'string', ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`own${i}`, 'int64'])) };

/** Every replica was answered with a schema holding its columns, and the newest version is the join of all of them. */
export function expectConverged(outcome: RaceOutcome, observed: readonly Observed[], joined: Readonly<Record<string, string>>): void {
  outcome.answers.forEach((answer, i) => expect(covers(answer, observed[i])).toBe(true));
  const newest = outcome.versions[outcome.versions.length - 1];
  expect(Object.fromEntries(newest.columns.map((column) => [column.name, column.type]))).toEqual(joined);
}
