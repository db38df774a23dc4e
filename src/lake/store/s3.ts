import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CollectorError } from '../../errors';
import { fenceExpired, isFenceExpired, type Body, type LakeStore, type Listing, type ListOptions, type StoredObject } from './lake-store';
import { RangedBlob } from './s3-blob';
import { configuredEndpoint, usePathStyle, writeParamsOf, type Environment, type S3Settings, type S3WriteParams } from './s3-config';
import { isConditionLost, isNoSuchKey, isNotFound, isTransient, isTransientName, s3Failure } from './s3-errors';
import { formatS3Url, lakeKeyOf, objectKeyOf, parseS3Url, type S3Location } from './s3-url';

export interface S3StoreOptions {
  /** `s3://bucket` or `s3://bucket/prefix`. */
  readonly url: string;
  readonly settings: S3Settings;
  /** Where AWS_ENDPOINT_URL(_S3) are looked for; the SDK itself always reads process.env. */
  readonly env?: Environment;
  /**
   * Merged over the client configuration. Production leaves it empty so that credentials, region
   * and endpoint come from the SDK's default chain; tests name a server and its credentials.
   */
  readonly client?: S3ClientConfig;
  /** Bytes per multipart part (at least 5 MiB): a streamed create holds about three of them. */
  readonly partSizeBytes?: number;
  /** Keys per ListObjectsV2 page (S3's maximum, 1000, by default). */
  readonly listPageSize?: number;
  /** A connection that stays silent this long fails the request (retried by the SDK, then LAKE_STORE_UNAVAILABLE). */
  readonly idleTimeoutMs?: number;
}

const MIB = 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * MIB;
/** S3's smallest part (the last one excepted). */
const MIN_PART_SIZE = 5 * MIB;
// Parts in flight beside the one being filled: memory stays near (PART_QUEUE + 1) parts whatever
// the body's size, and two concurrent parts already keep one connection's worth of bandwidth busy.
const PART_QUEUE = 2;
const DELETE_BATCH = 1000;
/** HTTP's Date header counts whole seconds. */
const DATE_RESOLUTION_MS = 1000;
/** User metadata that says which create() call wrote an object (see `create`). */
const WRITE_ID = 'collector-write-id';
const PROBE_BODY = new TextEncoder().encode('redpanda-parquet-collector probe\n');
const CHECK_REUSE_MS = 10_000;

/** The commands whose success makes an object visible. */
const MAKES_VISIBLE = new Set(['PutObjectCommand', 'CompleteMultipartUploadCommand']);

/**
 * The lake in an S3 bucket (AWS, or anything that speaks the S3 API and honours conditional
 * writes: MinIO, Ceph RGW, S3Proxy, …). See lake-store.ts for the contract.
 */
export class S3LakeStore implements LakeStore {
  readonly location: string;
  /** The endpoint for messages: the configured one, or 'AWS' when the SDK derives it from the region. */
  readonly endpoint: string;
  private readonly target: S3Location;
  private readonly client: S3Client;
  private readonly writeParams: S3WriteParams;
  private readonly partSize: number;
  private readonly listPageSize: number | undefined;
  private lastCheck: { readonly atMs: number; readonly answer: Promise<string | null> } | null = null;
  /** The `stillValid` of the create under way in this async context (see create). */
  private readonly createGuard = new AsyncLocalStorage<() => boolean>();

  constructor(options: S3StoreOptions) {
    this.target = parseS3Url(options.url);
    this.location = formatS3Url(this.target);
    this.writeParams = writeParamsOf(options.settings);
    const explicitEndpoint = typeof options.client?.endpoint === 'string' ? options.client.endpoint : undefined;
    const endpoint = explicitEndpoint ?? configuredEndpoint(options.env ?? process.env);
    this.endpoint = endpoint ?? 'AWS';
    this.partSize = Math.max(options.partSizeBytes ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
    this.listPageSize = options.listPageSize;
    this.client = new S3Client({
      forcePathStyle: usePathStyle(options.settings.forcePathStyle, endpoint),
      // standard: exponential back-off with jitter and a retry quota for 5xx, throttling and
      // network errors. Not adaptive: its client-side token bucket delays every later request of
      // the process once one is throttled, which only pays off with many callers sharing a quota.
      retryMode: 'standard',
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5_000, socketTimeout: options.idleTimeoutMs ?? 30_000 },
      ...options.client,
    });
    // The request that makes an object visible (a PutObject, or the CompleteMultipartUpload of a
    // multipart upload) asks its create's stillValid last, innermost, just before it is sent: each
    // attempt of the SDK's retries asks again.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const stillValid = this.createGuard.getStore();
        if (stillValid !== undefined && MAKES_VISIBLE.has(context.commandName ?? '') && !stillValid()) {
          throw fenceExpired(`s3://${this.target.bucket}/${String((args.input as { Key?: unknown }).Key)}`);
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'collectorCreateGuard' },
    );
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  /**
   * PutObject or multipart upload with `If-None-Match: *`; 412 means the key exists. Every call
   * stamps the object with a fresh random write id (user metadata). When the answer is lost, or a
   * 412 comes back (possibly to the SDK's own retry of a request that had in fact succeeded), the
   * object's HEAD settles it: our write id means we created it, another (or none) means someone
   * else did, no object means nothing was written and the error is thrown (retryable).
   */
  async create(key: string, body: Body, stillValid?: () => boolean): Promise<boolean> {
    const writeId = randomUUID();
    const guarded = body instanceof Uint8Array ? { body, failure: () => undefined } : guardBody(body);
    try {
      await (stillValid === undefined ? this.upload(key, guarded.body, writeId, 'create') : this.createGuard.run(stillValid, () => this.upload(key, guarded.body, writeId, 'create')));
      return true;
    } catch (error) {
      // A failing body is the caller's problem, not the store's: rethrown as it is.
      const bodyFailure = guarded.failure();
      if (bodyFailure !== undefined) throw bodyFailure;
      // Called off before the request that makes the object visible was sent: nothing to settle.
      if (isFenceExpired(error)) throw error;
      if (!isConditionLost(error) && !isTransient(error)) throw this.failure('create', error, key);
      const present = await this.head('create', key);
      if (present !== null) return present.Metadata?.[WRITE_ID] === writeId;
      throw new CollectorError('LAKE_STORE_UNAVAILABLE', `S3 create of ${this.describe(key)}: the answer was lost and the object is absent; retry`, {
        cause: error,
        context: { ...this.failure('create', error, key).context },
      });
    }
  }

  async replace(key: string, body: Body): Promise<void> {
    if (body instanceof Uint8Array) {
      await this.call('replace', key, () =>
        this.client.send(new PutObjectCommand({ Bucket: this.target.bucket, Key: this.objectKey(key), Body: body, ...this.writeParams })),
      );
      return;
    }
    const guarded = guardBody(body);
    try {
      await this.upload(key, guarded.body, randomUUID(), 'replace');
    } catch (error) {
      throw guarded.failure() ?? this.failure('replace', error, key);
    }
  }

  async read(key: string): Promise<Uint8Array | null> {
    return this.call('read', key, async () => {
      try {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: this.objectKey(key) }));
        return response.Body === undefined ? new Uint8Array(0) : await response.Body.transformToByteArray();
      } catch (error) {
        if (isNoSuchKey(error)) return null;
        throw error;
      }
    });
  }

  /**
   * Every ranged GET names the ETag seen at open: should the key be replaced meanwhile, a read
   * fails with 412 instead of mixing two objects' bytes.
   */
  async open(key: string): Promise<Blob> {
    const head = await this.head('open', key);
    if (head === null) {
      throw new CollectorError('LAKE_OBJECT_MISSING', `${this.describe(key)} does not exist`, {
        context: { bucket: this.target.bucket, endpoint: this.endpoint, key: this.objectKey(key) },
      });
    }
    const size = head.ContentLength ?? 0;
    const readRange = (start: number, end: number): Promise<Uint8Array> =>
      this.call('open', key, async () => {
        const response = await this.client.send(
          new GetObjectCommand({ Bucket: this.target.bucket, Key: this.objectKey(key), Range: `bytes=${start}-${end - 1}`, IfMatch: head.ETag }),
        );
        const bytes = response.Body === undefined ? new Uint8Array(0) : await response.Body.transformToByteArray();
        if (bytes.byteLength !== end - start) {
          throw new CollectorError('LAKE_STORE_REFUSED', `S3 answered ${bytes.byteLength} bytes to a range of ${end - start} of ${this.describe(key)}`, {
            context: { bucket: this.target.bucket, endpoint: this.endpoint, key: this.objectKey(key) },
          });
        }
        return bytes;
      });
    return new RangedBlob(readRange, 0, size);
  }

  async stat(key: string): Promise<StoredObject | null> {
    const head = await this.head('stat', key);
    if (head === null) return null;
    return { key, size: head.ContentLength ?? 0, modifiedMs: head.LastModified?.getTime() ?? 0 };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<Listing> {
    const objects: StoredObject[] = [];
    const prefixes: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.call('list', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.target.bucket,
            Prefix: this.objectKey(prefix),
            Delimiter: options.delimiter === true ? '/' : undefined,
            StartAfter: options.startAfter === undefined ? undefined : this.objectKey(options.startAfter),
            ContinuationToken: continuationToken,
            MaxKeys: this.listPageSize,
          }),
        ),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined) continue;
        objects.push({ key: lakeKeyOf(this.target, entry.Key), size: entry.Size ?? 0, modifiedMs: entry.LastModified?.getTime() ?? 0 });
      }
      for (const common of page.CommonPrefixes ?? []) {
        if (common.Prefix !== undefined) prefixes.push(lakeKeyOf(this.target, common.Prefix));
      }
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return { objects, prefixes };
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (let first = 0; first < keys.length; first += DELETE_BATCH) {
      const batch = keys.slice(first, first + DELETE_BATCH);
      const answer = await this.call('remove', batch[0], () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.target.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.objectKey(key) })), Quiet: true },
          }),
        ),
      );
      // DeleteObjects answers 200 even when single keys failed; absent keys are not failures.
      const failed = answer.Errors?.[0];
      if (failed !== undefined) {
        const code = failed.Code ?? 'unknown';
        throw new CollectorError(
          isTransientName(code) ? 'LAKE_STORE_UNAVAILABLE' : 'LAKE_STORE_REFUSED',
          `S3 remove of ${answer.Errors?.length ?? 1} object(s) in ${this.location} at ${this.endpoint} failed, first ${failed.Key ?? '?'}: ${code}`,
          { context: { bucket: this.target.bucket, endpoint: this.endpoint, key: failed.Key, awsCode: code } },
        );
      }
    }
  }

  /** The Date header of a HEAD of the bucket: whole seconds, like S3's Last-Modified it is compared with. */
  async now(): Promise<number> {
    let date: string | undefined;
    const command = new HeadBucketCommand({ Bucket: this.target.bucket });
    command.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        date = headerOf(result.response, 'date');
        return result;
      },
      { step: 'deserialize', name: 'collectorServerDate' },
    );
    await this.call('now', undefined, () => this.client.send(command));
    const ms = Date.parse(date ?? '');
    if (Number.isNaN(ms)) {
      throw new CollectorError('LAKE_STORE_REFUSED', `S3 at ${this.endpoint} answered without a Date header`, {
        context: { bucket: this.target.bucket, endpoint: this.endpoint },
      });
    }
    return ms;
  }

  /** Aborts the multipart uploads under the lake's prefix started at least `minAgeMs` ago by the store's clock. */
  async sweepAbandoned(minAgeMs: number): Promise<string[]> {
    const now = await this.now();
    const removed: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call('sweep', undefined, () =>
        this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.target.bucket, Prefix: this.target.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        ),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined || upload.Initiated === undefined) continue;
        if (!isOldEnough(upload.Initiated.getTime(), now, minAgeMs)) continue;
        await this.abortUpload(upload.Key, upload.UploadId);
        removed.push(lakeKeyOf(this.target, upload.Key));
      }
      if (page.IsTruncated !== true) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /**
   * HeadBucket: the bucket is there and the credentials are taken. An answer serves the checks of
   * the next CHECK_REUSE_MS: readiness probes and a consumer process's health reports (one a second)
   * would otherwise each be a billed request.
   */
  check(): Promise<string | null> {
    const nowMs = Date.now();
    if (this.lastCheck === null || nowMs - this.lastCheck.atMs >= CHECK_REUSE_MS) this.lastCheck = { atMs: nowMs, answer: this.headBucket() };
    return this.lastCheck.answer;
  }

  private async headBucket(): Promise<string | null> {
    try {
      await this.call('check', undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.target.bucket })));
      return null;
    } catch (error) {
      if (error instanceof CollectorError && isNotFound(error.cause)) return `bucket ${this.target.bucket} does not exist at ${this.endpoint}`;
      if (error instanceof CollectorError) return error.message;
      throw error;
    }
  }

  async probe(): Promise<string | null> {
    const reachable = await this.headBucket();
    if (reachable !== null) return reachable;
    const key = `_probe-${Date.now()}-${randomUUID()}`;
    try {
      if (!(await this.create(key, PROBE_BODY))) return `${this.describe(key)} refused the first create of a fresh key`;
      if (await this.create(key, PROBE_BODY)) {
        return `${this.describe(key)} accepted a second create of one key: the store ignores If-None-Match, so it cannot keep files from being overwritten`;
      }
      return null;
    } catch (error) {
      if (error instanceof CollectorError) return error.message;
      throw error;
    } finally {
      await this.remove([key]).catch(() => {
        // A store that refused the probe usually refuses this too; the answer above says why.
      });
    }
  }


  private async upload(key: string, body: Uint8Array | Readable, writeId: string, mode: 'create' | 'replace'): Promise<void> {
    const upload = new Upload({
      client: this.client,
      partSize: this.partSize,
      queueSize: PART_QUEUE,
      // lib-storage spreads these params into CompleteMultipartUpload too (and into PutObject for a
      // body of one part), so If-None-Match guards the multipart path as well.
      params: { Bucket: this.target.bucket, Key: this.objectKey(key), Body: body, ...(mode === 'create' ? { IfNoneMatch: '*' } : {}), Metadata: { [WRITE_ID]: writeId }, ...this.writeParams },
    });
    await upload.done();
  }

  private async abortUpload(objectKey: string, uploadId: string): Promise<void> {
    const key = lakeKeyOf(this.target, objectKey);
    await this.call('sweep', key, async () => {
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: objectKey, UploadId: uploadId }));
      } catch (error) {
        // NoSuchUpload: another collector's sweep, or the upload's own completion, got there first.
        if (!isNotFound(error)) throw error;
      }
    });
  }

  /**
   * The object's HEAD, or null when the key is absent. A HEAD's 404 is the same for a missing key
   * and a missing bucket, so a 404 costs a HeadBucket too: a deleted bucket must not read as an
   * empty lake.
   */
  private async head(operation: string, key: string): Promise<HeadObjectCommandOutput | null> {
    const head = await this.call(operation, key, async () => {
      try {
        return await this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: this.objectKey(key) }));
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    });
    if (head === null) await this.call(operation, undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.target.bucket })));
    return head;
  }

  private async call<T>(operation: string, key: string | undefined, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.failure(operation, error, key);
    }
  }

  private failure(operation: string, error: unknown, key: string | undefined): CollectorError {
    return s3Failure(error, {
      operation,
      bucket: this.target.bucket,
      endpoint: this.endpoint,
      key: key === undefined ? undefined : this.objectKey(key),
    });
  }

  private objectKey(key: string): string {
    return objectKeyOf(this.target, key);
  }

  private describe(key: string): string {
    return `s3://${this.target.bucket}/${this.objectKey(key)} at ${this.endpoint}`;
  }
}

/**
 * `now` is a Date header, whole seconds behind the server's true time by up to one: an upload
 * counts as old enough within that second, so 0 means every upload and hours mean hours.
 */
export function isOldEnough(initiatedMs: number, nowMs: number, minAgeMs: number): boolean {
  return nowMs + DATE_RESOLUTION_MS - initiatedMs > minAgeMs;
}

function headerOf(response: unknown, name: string): string | undefined {
  if (typeof response !== 'object' || response === null || !('headers' in response)) return undefined;
  const headers = response.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value: unknown = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The body as a stream for lib-storage, remembering whether it was the body that failed. */
function guardBody(body: AsyncIterable<Uint8Array>): { body: Readable; failure: () => unknown } {
  let failure: unknown;
  async function* watched(): AsyncGenerator<Uint8Array> {
    try {
      yield* body;
    } catch (error) {
      failure = error;
      throw error;
    }
  }
  return { body: Readable.from(watched()), failure: () => failure };
}
