/**
 * The topic schema's versions on a real S3 server (S3Proxy): replicas widening one topic at the
 * same time converge through `If-None-Match: *` creates, as they do on a disk (the unit test).
 */
import { randomBytes } from 'node:crypto';
import { hiveLayout } from '../../src/lake/layout';
import { s3LakeOf } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';
import { EIGHT_REPLICAS, EIGHT_REPLICAS_JOINED, expectConverged, raceReplicas, TWO_REPLICAS, TWO_REPLICAS_JOINED } from '../harness/schema-race';

describe('topic schema versions on S3', () => {
  const server = s3ServerForSuite('topic-schemas');
  const lakeOn = (prefix: string): ReturnType<typeof s3LakeOf>['lake'] => s3LakeOf(server(), `${prefix}-${randomBytes(4).toString('hex')}`).lake;

  it('two replicas widening one column at once converge: no column lost, no flip-flop', async () => {
    const outcome = await raceReplicas(lakeOn('two'), 'race', TWO_REPLICAS);
    expectConverged(outcome, TWO_REPLICAS, TWO_REPLICAS_JOINED);
  });

  it('eight replicas in the Hive layout: every one returns a schema holding its columns, the newest holds all', async () => {
    const lake = { ...lakeOn('eight'), layout: hiveLayout };
    const outcome = await raceReplicas(lake, 'crowd', EIGHT_REPLICAS);
    expect(outcome.lostRaces).toBeGreaterThan(0);
    expectConverged(outcome, EIGHT_REPLICAS, EIGHT_REPLICAS_JOINED);
    expect((await lake.store.list('topic=crowd/_schema/')).objects.map((object) => object.key)).toEqual(outcome.versions.map((schema) => `topic=crowd/_schema/v${String(schema.version).padStart(6, '0')}.json`));
  });
});
