/**
 * The topic schema's versions on a real S3 server (S3Proxy): replicas widening one topic at the
 * same time converge through `If-None-Match: *` creates, as they do on a disk (the unit test).
 */
import { randomBytes } from 'node:crypto';
import { hiveLayout } from '../../src/lake/layout';
import type { ColumnType } from '../../src/parquet/batch';
import { s3LakeOf } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';
import { covers, raceReplicas } from '../harness/schema-race';

type Observed = Array<[string, ColumnType | null]>;

describe('topic schema versions on S3', () => {
  const server = s3ServerForSuite('topic-schemas');
  const lakeOn = (prefix: string): ReturnType<typeof s3LakeOf>['lake'] => s3LakeOf(server(), `${prefix}-${randomBytes(4).toString('hex')}`).lake;

  it('two replicas widening one column at once converge: no column lost, no flip-flop', async () => {
    const lake = lakeOn('two');
    const observed: Observed[] = [
      [['x', 'int64'], ['a', 'string'], ['n', null]],
      [['x', 'double'], ['b', 'boolean']],
    ];
    const outcome = await raceReplicas(lake, 'race', observed);
    outcome.answers.forEach((answer, i) => expect(covers(answer, observed[i])).toBe(true));
    const newest = outcome.versions[outcome.versions.length - 1];
    expect(newest.columns).toHaveLength(3);
    expect(newest.columns).toEqual(expect.arrayContaining([{ name: 'x', type: 'double' }, { name: 'a', type: 'string' }, { name: 'b', type: 'boolean' }]));
  });

  it('eight replicas in the Hive layout: every one returns a schema holding its columns, the newest holds all', async () => {
    const lake = { ...lakeOn('eight'), layout: hiveLayout };
    const observed: Observed[] = Array.from({ length: 8 }, (_, i) => [
      ['shared', i === 5 ? 'string' : i % 2 === 0 ? 'double' : 'int64'],
      [`own${i}`, 'boolean'],
    ]);
    const outcome = await raceReplicas(lake, 'crowd', observed);
    expect(outcome.lostRaces).toBeGreaterThan(0);
    outcome.answers.forEach((answer, i) => expect(covers(answer, observed[i])).toBe(true));
    const newest = outcome.versions[outcome.versions.length - 1];
    expect(newest.columns.find((column) => column.name === 'shared')?.type).toBe('string');
    expect(newest.columns).toHaveLength(9);
    expect((await lake.store.list('topic=crowd/_schema/')).objects.map((object) => object.key)).toEqual(outcome.versions.map((schema) => `topic=crowd/_schema/v${String(schema.version).padStart(6, '0')}.json`));
  });
});
