/** An S3 server for a Jest describe block: started before its tests, stopped after them. */
import { startS3Server, type S3ServerHandle } from './s3-server';

/** Registers the start and the stop; the returned function gives the server inside a test. */
export function s3ServerForSuite(bucket: string): () => S3ServerHandle {
  let server: S3ServerHandle | undefined;
  beforeAll(async () => {
    server = await startS3Server({ bucket });
  }, 120_000);
  afterAll(async () => server?.stop());
  return () => {
    if (server === undefined) throw new Error('the S3 server of this suite did not start');
    return server;
  };
}
