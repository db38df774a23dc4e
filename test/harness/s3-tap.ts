/**
 * A loopback HTTP proxy in front of an S3 server that records every request, and can misbehave on
 * purpose: drop request headers (a store that ignores If-None-Match), lose answers (the server
 * did the work, the client never hears of it), answer requests itself with S3's throttling and
 * server errors without forwarding them (the server never sees them), or hold a chosen request
 * and tell the test, which kills the client there (a crash at a named point) or lets it go on
 * later (a client paused at that point).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The S3 error codes the tap can answer with: throttling, and a server-side failure. */
export type S3FaultAnswer = 'SlowDown' | 'InternalError';

export interface TappedRequest {
  readonly method: string;
  /** Path and query, as sent (`/bucket/key?uploads`). */
  readonly url: string;
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes of the answer. */
  readonly bytes: number;
  /** The error the tap answered with itself, or null when the server answered. */
  readonly injected: S3FaultAnswer | null;
}

/** Which requests the tap answers itself, and with what. */
export interface S3Fault {
  readonly answer: S3FaultAnswer;
  /** HTTP methods it applies to (upper case); every method when absent. */
  readonly methods?: readonly string[];
  /** Every nth request it applies to is answered (the nth, the 2nth, …): 1, the default, is all of them. */
  readonly every?: number;
  /** At most this many answers, then the fault is spent; no limit when absent. */
  readonly times?: number;
}

/** A request to hold: the test learns it arrived, and kills the client while it waits or releases it. */
export interface S3Trap {
  readonly matches: (method: string, url: string) => boolean;
  /** request: held before the server sees it; answer: the server does the work, its answer is held. */
  readonly at: 'request' | 'answer';
}

export interface S3TapOptions {
  /** Request headers removed before forwarding (lower case). */
  readonly dropHeaders?: readonly string[];
  /** How many of the first PUTs are forwarded and answered by the server, then cut off before the client sees the answer. */
  readonly losePutAnswers?: number;
  /** Faults active from the start (more can be injected later). */
  readonly faults?: readonly S3Fault[];
}

export interface S3TapHandle {
  readonly endpoint: string;
  readonly requests: readonly TappedRequest[];
  /** Starts answering the fault's requests; the returned function stops it. */
  inject(fault: S3Fault): () => void;
  /** Holds every request the trap matches until released; `sprung` resolves with the URL of the first. */
  trap(trap: S3Trap): { readonly sprung: Promise<string>; release(): void };
  close(): Promise<void>;
}

/** What S3 answers with each code: the status and its XML error document. */
export function s3ErrorAnswer(answer: S3FaultAnswer): { status: number; body: string } {
  const { status, message } =
    answer === 'SlowDown' ? { status: 503, message: 'Please reduce your request rate.' } : { status: 500, message: 'We encountered an internal error. Please try again.' };
  return { status, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${answer}</Code><Message>${message}</Message></Error>` };
}

/** Whether a fault answers a request it applies to, the `seen`th so far (from 1), having answered `answered` before. */
export function faultHits(fault: S3Fault, seen: number, answered: number): boolean {
  if (fault.times !== undefined && answered >= fault.times) return false;
  return seen % Math.max(1, fault.every ?? 1) === 0;
}

interface ActiveFault {
  readonly fault: S3Fault;
  seen: number;
  answered: number;
}

/** Counts the request against every fault that applies to it; the first that hits answers it. */
function faultFor(active: readonly ActiveFault[], method: string): S3FaultAnswer | null {
  let chosen: S3FaultAnswer | null = null;
  for (const entry of active) {
    if (entry.fault.methods !== undefined && !entry.fault.methods.includes(method)) continue;
    entry.seen += 1;
    if (chosen === null && faultHits(entry.fault, entry.seen, entry.answered)) {
      entry.answered += 1;
      chosen = entry.fault.answer;
    }
  }
  return chosen;
}

export async function startS3Tap(target: string, options: S3TapOptions = {}): Promise<S3TapHandle> {
  const upstream = new URL(target);
  const dropped = new Set(options.dropHeaders ?? []);
  const requests: TappedRequest[] = [];
  let answersToLose = options.losePutAnswers ?? 0;
  const active: ActiveFault[] = (options.faults ?? []).map((fault) => ({ fault, seen: 0, answered: 0 }));
  const traps: Array<{ readonly trap: S3Trap; readonly sprung: (url: string) => void; readonly held: Array<() => void>; released: boolean }> = [];
  /** Whether a trap holds the request (or its answer); `goOn` is what its release does. */
  const trapped = (method: string, url: string, at: S3Trap['at'], goOn: () => void): boolean => {
    const hit = traps.find((entry) => !entry.released && entry.trap.at === at && entry.trap.matches(method, url));
    if (hit === undefined) return false;
    hit.sprung(url);
    hit.held.push(goOn);
    return true;
  };

  const answerItself = (request: http.IncomingMessage, response: http.ServerResponse, answer: S3FaultAnswer): void => {
    const { status, body } = s3ErrorAnswer(answer);
    // The whole body is read first, as a server does: answering mid-upload would show the client a reset connection, not a 5xx.
    request.resume();
    request.on('end', () => {
      const bytes = Buffer.byteLength(body);
      response.writeHead(status, { 'content-type': 'application/xml', 'content-length': bytes, 'x-amz-request-id': `tap-${requests.length}` });
      response.end(request.method === 'HEAD' ? undefined : body);
      requests.push({ method: request.method ?? '', url: request.url ?? '', range: request.headers.range, status, bytes: request.method === 'HEAD' ? 0 : bytes, injected: answer });
    });
  };

  const forward = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !dropped.has(name)));
    const upstreamRequest = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (answer) => {
        const pass = (): void => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        };
        if (trapped(request.method ?? '', request.url ?? '', 'answer', pass)) return;
        const lose = request.method === 'PUT' && answersToLose > 0;
        if (lose) answersToLose -= 1;
        let bytes = 0;
        answer.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        answer.on('end', () => {
          requests.push({ method: request.method ?? '', url: request.url ?? '', range: request.headers.range, status: answer.statusCode ?? 0, bytes, injected: null });
          // The server has answered in full, so whatever it did is done: only the client is left without an answer.
          if (lose) response.socket?.destroy();
        });
        if (lose) {
          answer.resume();
          return;
        }
        pass();
      },
    );
    upstreamRequest.on('error', () => response.socket?.destroy());
    request.pipe(upstreamRequest);
  };

  const server = http.createServer((request, response) => {
    if (trapped(request.method ?? '', request.url ?? '', 'request', () => forward(request, response))) return;
    const fault = faultFor(active, request.method ?? '');
    if (fault !== null) {
      answerItself(request, response, fault);
      return;
    }
    forward(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    inject: (fault) => {
      const entry: ActiveFault = { fault, seen: 0, answered: 0 };
      active.push(entry);
      return () => {
        const index = active.indexOf(entry);
        if (index >= 0) active.splice(index, 1);
      };
    },
    trap: (trap) => {
      let sprung: (url: string) => void = () => undefined;
      const entry = { trap, sprung: (url: string) => sprung(url), held: [] as Array<() => void>, released: false };
      traps.push(entry);
      return {
        sprung: new Promise<string>((resolve) => {
          sprung = resolve;
        }),
        release: () => {
          entry.released = true;
          for (const goOn of entry.held.splice(0)) goOn();
        },
      };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
