import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CollectorError } from '../../../src/errors';
import type { Lake } from '../../../src/lake/lake';
import { hiveLayout, seedLayout, topicSchemaFolder } from '../../../src/lake/layout';
import { LocalStore } from '../../../src/lake/store/local';
import { applyWidenings, joinObserved, TopicSchemas, wideningsFor, type TopicSchema } from '../../../src/lake/topic-schema';
import type { ColumnType } from '../../../src/parquet/batch';
import { allVersions, EIGHT_REPLICAS, EIGHT_REPLICAS_JOINED, expectConverged, raceReplicas, TWO_REPLICAS, TWO_REPLICAS_JOINED } from '../../harness/schema-race';

describe('the schema lattice', () => {
  it('adds unknown columns at the end and widens known ones, ignoring null-only columns', () => {
    const columns = [
      { name: 'a', type: 'int64' as const },
      { name: 'b', type: 'string' as const },
    ];
    const widenings = wideningsFor(columns, [
      ['c', 'boolean'],
      ['a', 'double'],
      ['b', 'int64'],
      ['n', null],
    ]);
    expect(widenings).toEqual([
      { column: 'c', from: null, to: 'boolean' },
      { column: 'a', from: 'int64', to: 'double' },
    ]);
    expect(applyWidenings(columns, widenings)).toEqual([
      { name: 'a', type: 'double' },
      { name: 'b', type: 'string' },
      { name: 'c', type: 'boolean' },
    ]);
    expect(wideningsFor(columns, [['a', 'timestamp_ms']])).toEqual([]);
  });

  it('joins what several files saw, in order of first appearance, null-only columns staying null', () => {
    expect(
      joinObserved([
        [['a', 'int64'], ['n', null]],
        [['b', 'string'], ['a', 'double'], ['n', null]],
        [['a', 'int64'], ['b', 'int64']],
      ]),
    ).toEqual(
      new Map<string, ColumnType | null>([
        ['a', 'double'],
        ['n', null],
        ['b', 'string'],
      ]),
    );
  });
});

describe('TopicSchemas on a local lake', () => {
  let root: string;
  let lake: Lake;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'topic-schema-'));
    lake = { store: new LocalStore(root), layout: seedLayout };
  });

  afterEach(async () => rm(root, { recursive: true, force: true }));

  const schemas = (instanceId = 'one', onWidened?: (schema: TopicSchema) => void): TopicSchemas => new TopicSchemas({ lake, instanceId, now: () => Date.UTC(2026, 0, 2), onWidened });

  it('creates version 1 from the first columns, then only a widening makes a new version', async () => {
    const widened: number[] = [];
    const one = schemas('one', (schema) => widened.push(schema.version));
    const first = await one.settle('trades', [['price', 'int64'], ['empty', null]]);
    expect(first).toMatchObject({ version: 1, columns: [{ name: 'price', type: 'int64' }], createdBy: 'one', createdAt: '2026-01-02T00:00:00.000Z' });
    expect(await one.settle('trades', [['price', 'int64'], ['empty', null]])).toEqual(first);
    const second = await one.settle('trades', [['price', 'double'], ['empty', 'string']]);
    expect(second).toMatchObject({
      version: 2,
      columns: [{ name: 'price', type: 'double' }, { name: 'empty', type: 'string' }],
      widened: [{ column: 'price', from: 'int64', to: 'double' }, { column: 'empty', from: null, to: 'string' }],
    });
    // Narrower again: no flip back.
    expect(await one.settle('trades', [['price', 'int64']])).toEqual(second);
    expect(widened).toEqual([1, 2]);
    expect((await allVersions(lake, 'trades')).map((schema) => schema.version)).toEqual([1, 2]);
    expect(await schemas().newest('other')).toBeNull();
  });

  it("sees another process's widening at its next settle, and writes nothing for it", async () => {
    const one = schemas('one');
    const two = schemas('two');
    await one.settle('t', [['a', 'int64']]);
    expect((await two.settle('t', [['a', 'int64']]))?.version).toBe(1);
    await one.settle('t', [['a', 'double']]);
    expect(await two.settle('t', [['a', 'int64']])).toMatchObject({ version: 2, columns: [{ name: 'a', type: 'double' }] });
    expect(await allVersions(lake, 't')).toHaveLength(2);
  });

  it('converges when two replicas widen one column at the same time: no column lost, no flip-flop', async () => {
    const outcome = await raceReplicas(lake, 'race', TWO_REPLICAS);
    expectConverged(outcome, TWO_REPLICAS, TWO_REPLICAS_JOINED);
    expect(outcome.versions.length).toBeLessThanOrEqual(2);
  });

  it('converges with eight replicas, each adding and widening its own columns', async () => {
    const outcome = await raceReplicas(lake, 'crowd', EIGHT_REPLICAS);
    expect(outcome.lostRaces).toBeGreaterThan(0);
    expectConverged(outcome, EIGHT_REPLICAS, EIGHT_REPLICAS_JOINED);
  });

  it('puts the versions beside the data in each layout', () => {
    expect(topicSchemaFolder(seedLayout.name, 'a.b')).toBe('_schema/a.b/');
    expect(topicSchemaFolder(hiveLayout.name, 'a.b')).toBe('topic=a.b/_schema/');
  });

  it('refuses a version file it did not write, with a typed error', async () => {
    await mkdir(path.join(root, '_schema', 't'), { recursive: true });
    await writeFile(path.join(root, '_schema', 't', 'v000001.json'), '{"format":1,"topic":"t","version":1,"columns":[{"name":"a","type":"decimal"}]}');
    const error = await schemas().settle('t', [['a', 'int64']]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CollectorError);
    expect((error as CollectorError).code).toBe('TOPIC_SCHEMA_INVALID');
    expect((error as CollectorError).retryable).toBe(false);
  });
});
