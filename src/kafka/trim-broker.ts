import { AdminClient, type IAdminClient, type KafkaConsumer, type LibrdKafkaError } from '@confluentinc/kafka-javascript';
import { CollectorError } from '../errors';
import type { PartitionRef } from './consumer-port';
import { offsetsForTimeOf } from './watermarks';

/**
 * What the topic trim (topic-trim.ts) asks of the broker, through librdkafka's admin API on the
 * consumer's own connection: DeleteRecords, the offsets of a time, and whether the principal may
 * delete records at all.
 */

export interface TrimPoint {
  readonly topic: string;
  readonly partition: number;
  /** Records below this offset are deleted: the partition's new low watermark. */
  readonly offset: number;
}

export interface TrimOutcome {
  readonly topic: string;
  readonly partition: number;
  /** The low watermark the broker reports after the request; null when the partition failed. */
  readonly lowWatermark: number | null;
  readonly error: CollectorError | null;
}

export interface TrimBroker {
  deleteRecords(points: readonly TrimPoint[], timeoutMs: number): Promise<TrimOutcome[]>;
  /** Per partitionKey, the first offset whose record is at or after `timestampMs`; null when every record is older. */
  offsetsAtTime(partitions: readonly PartitionRef[], timestampMs: number, timeoutMs: number): Promise<ReadonlyMap<string, number | null>>;
  /** Of these topics, those on which the broker says the principal may not delete records. */
  deleteDenied(topics: readonly string[], timeoutMs: number): Promise<string[]>;
}

const ERR_TOPIC_AUTHORIZATION_FAILED = 29;
/** AclOperationTypes of the client (a const enum in its typings, a frozen object at run time). */
const ACL_ALL = 2;
const ACL_DELETE = 6;

/** The trim's broker on an existing consumer: the admin client shares its connection and its credentials. */
export function trimBrokerOf(consumer: KafkaConsumer): TrimBroker {
  let admin: IAdminClient | null = null;
  const adminClient = (): IAdminClient => (admin ??= AdminClient.createFrom(consumer));
  return {
    deleteRecords(points, timeoutMs) {
      return new Promise((resolve, reject) => {
        adminClient().deleteRecords(
          points.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
          { timeout: timeoutMs, operationTimeout: timeoutMs },
          (error, results) => {
            if (error) reject(trimError(error, points.map(({ topic }) => topic)));
            else resolve(results.map(({ topic, partition, lowWatermark, error: failed }) => ({ topic, partition, lowWatermark: failed ? null : lowWatermark, error: failed ? trimError(failed, [topic]) : null })));
          },
        );
      });
    },
    offsetsAtTime(partitions, timestampMs, timeoutMs) {
      return offsetsForTimeOf(consumer, partitions, timestampMs, timeoutMs);
    },
    deleteDenied(topics, timeoutMs) {
      if (topics.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        adminClient().describeTopics([...topics], { includeAuthorizedOperations: true, timeout: timeoutMs }, (error, descriptions) => {
          if (error) reject(trimError(error, topics));
          else resolve(descriptions.filter((topic) => !mayDelete(topic.authorizedOperations, topic.error?.code)).map((topic) => topic.name));
        });
      });
    },
  };
}

/**
 * Whether a topic's description lets the principal delete records. A broker without an authorizer
 * allows everything; one that does not report operations at all (an older broker) is given the
 * benefit of the doubt, and a refused DeleteRecords says the same thing later.
 */
export function mayDelete(operations: readonly number[] | undefined, errorCode: number | undefined): boolean {
  if (errorCode === ERR_TOPIC_AUTHORIZATION_FAILED) return false;
  if (operations === undefined) return true;
  return operations.includes(ACL_DELETE) || operations.includes(ACL_ALL);
}

/** The ACL a trim needs, named for the operator who has to grant it. */
export function notAuthorizedError(topics: readonly string[], cause?: unknown): CollectorError {
  const names = [...new Set(topics)].join(', ');
  return new CollectorError(
    'TOPIC_TRIM_NOT_AUTHORIZED',
    `TOPIC_TRIM_ENABLED needs the ACL DELETE on TOPIC ${names} for the collector's principal (e.g. kafka-acls --add --allow-principal User:<collector> --operation Delete --topic <topic>); grant it or set TOPIC_TRIM_ENABLED=false`,
    { cause, context: { topics: names } },
  );
}

/** A librdkafka error of a trim request: an authorization failure names the ACL, anything else may pass. */
export function trimError(error: Pick<LibrdKafkaError, 'code' | 'message'>, topics: readonly string[]): CollectorError {
  if (error.code === ERR_TOPIC_AUTHORIZATION_FAILED) return notAuthorizedError(topics, error);
  return new CollectorError('TOPIC_TRIM_FAILED', `deleting records failed: ${error.message}`, { cause: error, context: { code: error.code, topics: [...new Set(topics)].join(', ') } });
}
