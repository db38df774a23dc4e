import Fastify, { type FastifyInstance } from 'fastify';
import { CollectorError } from '../errors';

/** Liveness, readiness and metrics over HTTP. The checks themselves belong to the app. */

export interface HealthCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthSource {
  /** Liveness: the process and its consume loop are alive. */
  liveness(): HealthCheck;
  /** Readiness: every check must pass. */
  readiness(): Promise<HealthCheck[]>;
}

/** The text of /metrics: a process's registry, or the primary's aggregation over its consumer processes. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
}

export class HttpServer {
  private readonly app: FastifyInstance;
  private readonly options: HttpServerOptions;

  constructor(options: HttpServerOptions, health: HealthSource, registry: MetricsSource) {
    this.options = options;
    this.app = Fastify({ logger: false });
    this.app.get('/healthz', async (_request, reply) => {
      const check = health.liveness();
      return reply.code(check.ok ? 200 : 503).send({ status: check.ok ? 'ok' : 'failing', checks: [check] });
    });
    this.app.get('/readyz', async (_request, reply) => {
      const checks = await health.readiness();
      const failing = checks.filter((check) => !check.ok);
      return reply.code(failing.length === 0 ? 200 : 503).send({ status: failing.length === 0 ? 'ready' : 'not-ready', failing: failing.map((check) => check.name), checks });
    });
    this.app.get('/metrics', async (_request, reply) => {
      const body = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(body);
    });
  }

  /** Listens; resolves with the bound address. A port in use is a clear start-up error. */
  async start(): Promise<string> {
    try {
      return await this.app.listen({ host: this.options.host, port: this.options.port });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EADDRINUSE' ? `port ${this.options.port} on ${this.options.host} is already in use` : (error as Error).message;
      throw new CollectorError('HTTP_LISTEN_FAILED', `cannot start the HTTP server: ${reason} (set HTTP_PORT / HTTP_HOST)`, {
        cause: error,
        context: { host: this.options.host, port: this.options.port, errno: code ?? null },
      });
    }
  }

  /** The port actually bound (useful when configured as 0 in tests). */
  get port(): number {
    const address = this.app.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
