import { Writable } from 'node:stream';
import { createLogger, type LogFormat } from '../../../src/observability/logger';

/** Collects what the logger writes. */
function sink(): { stream: Writable & { write: Writable['write'] }; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function logOnce(format: LogFormat, terminal: boolean): string {
  const out = sink();
  const logger = createLogger({ level: 'info', format, terminal, destination: out.stream });
  logger.info(
    { event: 'file_published', rows: 3, config: { kafka: { saslPassword: 'hunter2', sslKeyLocation: '', properties: { 'sasl.password': 'hunter2' } } }, err: { password: 'hunter2' } },
    'file published',
  );
  logger.flush();
  return out.text();
}

function withoutColours(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

describe('createLogger', () => {
  it.each<[LogFormat, boolean]>([
    ['json', false],
    ['json', true],
    ['auto', false],
  ])('format %s on a terminal=%s writes one JSON object per line with the event', (format, terminal) => {
    const lines = logOnce(format, terminal).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, event: 'file_published', rows: 3, msg: 'file published', service: 'redpanda-parquet-collector' });
  });

  it.each<[LogFormat, boolean]>([
    ['pretty', false],
    ['auto', true],
  ])('format %s on a terminal=%s writes readable text', (format, terminal) => {
    const text = withoutColours(logOnce(format, terminal));
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toContain('INFO');
    expect(text).toContain('file published');
    expect(text).toContain('event: "file_published"');
  });

  it.each<LogFormat>(['json', 'pretty'])('redacts a password that reaches a log line (%s)', (format) => {
    const text = logOnce(format, false);
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[redacted]');
    expect(text).toMatch(/"?sslKeyLocation"?: ?""/);
  });
});
