/**
 * A loopback HTTP proxy in front of an S3 server that records every request, and can misbehave on
 * purpose: drop request headers (a store that ignores If-None-Match) or lose answers (the server
 * did the work, the client never hears of it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TappedRequest {
  readonly method: string;
  /** Path and query, as sent (`/bucket/key?uploads`). */
  readonly url: string;
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes of the answer. */
  readonly bytes: number;
}

export interface S3TapOptions {
  /** Request headers removed before forwarding (lower case). */
  readonly dropHeaders?: readonly string[];
  /** How many of the first PUTs are forwarded and answered by the server, then cut off before the client sees the answer. */
  readonly losePutAnswers?: number;
}

export interface S3TapHandle {
  readonly endpoint: string;
  readonly requests: readonly TappedRequest[];
  close(): Promise<void>;
}

export async function startS3Tap(target: string, options: S3TapOptions = {}): Promise<S3TapHandle> {
  const upstream = new URL(target);
  const dropped = new Set(options.dropHeaders ?? []);
  const requests: TappedRequest[] = [];
  let answersToLose = options.losePutAnswers ?? 0;

  const server = http.createServer((request, response) => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !dropped.has(name)));
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (answer) => {
        const lose = request.method === 'PUT' && answersToLose > 0;
        if (lose) answersToLose -= 1;
        let bytes = 0;
        answer.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        answer.on('end', () => {
          requests.push({ method: request.method ?? '', url: request.url ?? '', range: request.headers.range, status: answer.statusCode ?? 0, bytes });
          // The server has answered in full, so whatever it did is done: only the client is left without an answer.
          if (lose) response.socket?.destroy();
        });
        if (lose) {
          answer.resume();
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.socket?.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
