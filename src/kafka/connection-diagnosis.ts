/**
 * Why the brokers cannot be reached, from what librdkafka says. Its error events only carry a
 * short code text ("ssl error", "authentication failure", "broker transport failure"); the reason
 * a user can act on (which certificate check failed, which SASL mechanism refused the password)
 * is in its FAIL log lines. Pure: the consumer wrapper feeds events in and keeps the last cause.
 */

export type ConnectionCauseKind = 'certificate-verify' | 'ssl-handshake' | 'sasl-authentication' | 'broker-unreachable';

export interface ConnectionCause {
  readonly kind: ConnectionCauseKind;
  /** librdkafka's words, without the thread prefix and the retry timing. */
  readonly text: string;
  /** The broker it happened with, as librdkafka names it (`ssl://host:port/bootstrap`), if known. */
  readonly broker: string | null;
  /** A log line explains; an error event only names the kind. */
  readonly from: 'log' | 'error-event';
}

/** The fields of the client's `event.log` payload this module reads. */
export interface LibrdkafkaLog {
  readonly severity: number;
  readonly fac: string;
  readonly message: string;
}

/** The fields of the client's `event.error` payload this module reads. */
export interface LibrdkafkaErrorEvent {
  readonly message: string;
}

/** What to check first, per cause: the setting names are the collector's environment variables. */
const HINTS: Readonly<Record<ConnectionCauseKind, string>> = {
  'certificate-verify': 'check SSL_CA_LOCATION: it must hold the CA that signed the broker certificate, and the certificate must name the host in BOOTSTRAP_SERVERS',
  'ssl-handshake': 'check SECURITY_PROTOCOL against the listener BOOTSTRAP_SERVERS points at (TLS or not), and the client certificate settings',
  'sasl-authentication': 'check SASL_USERNAME, SASL_PASSWORD and SASL_MECHANISM',
  'broker-unreachable': 'check BOOTSTRAP_SERVERS and that the network lets this host reach the brokers',
};

/** syslog levels: librdkafka logs connection failures at 3 (error) or 4 (warning). */
const MAX_SEVERITY = 4;
/** `[thrd:ssl://h:p/bootstrap]: ssl://h:p/bootstrap: <text> (after 12ms in state X[, …])` */
const LOG_LINE = /^\[thrd:[^\]]*\]:\s*(\S+?):\s+(.*?)(?:\s+\(after \d+ms in state .*\))?$/s;

const RULES: readonly { kind: ConnectionCauseKind; pattern: RegExp }[] = [
  { kind: 'certificate-verify', pattern: /certificate verify failed|certificate could not be verified|unable to get (local )?issuer certificate|self[- ]signed certificate|hostname mismatch|certificate has expired/i },
  { kind: 'ssl-handshake', pattern: /SSL handshake failed|^ssl error$/i },
  { kind: 'sasl-authentication', pattern: /SASL authentication (error|failed)|^authentication failure$|invalid credentials/i },
  { kind: 'broker-unreachable', pattern: /Connect to .* failed|Connection refused|Failed to resolve|Name or service not known|connection setup timed out/i },
];

function classify(text: string): ConnectionCauseKind | null {
  return RULES.find(({ pattern }) => pattern.test(text))?.kind ?? null;
}

/** A cause from a log line, or null for lines that say nothing about reaching the brokers. */
export function diagnoseLog(log: LibrdkafkaLog): ConnectionCause | null {
  if (log.severity > MAX_SEVERITY) return null;
  const match = LOG_LINE.exec(log.message.trim());
  const broker = match?.[1] ?? null;
  const text = match?.[2] ?? log.message.trim();
  const kind = classify(text);
  return kind === null ? null : { kind, text, broker, from: 'log' };
}

/**
 * A cause from an error event. Only the code texts that name a cause count: "broker transport
 * failure" and "all broker connections are down" say that, not why.
 */
export function diagnoseError(error: LibrdkafkaErrorEvent): ConnectionCause | null {
  const text = error.message.trim();
  if (!/^(ssl error|authentication failure)$/i.test(text) && !/SSL handshake failed|SASL authentication/i.test(text)) return null;
  const kind = classify(text);
  return kind === null ? null : { kind, text, broker: null, from: 'error-event' };
}

/**
 * The cause to keep when `next` arrives after `current`. An error event's bare code text never
 * replaces a log line's explanation; librdkafka words one failure several ways (with and without
 * its advice, as retries go on), and the fuller wording is kept.
 */
export function mergeCause(current: ConnectionCause | null, next: ConnectionCause | null): ConnectionCause | null {
  if (next === null) return current;
  if (current === null) return next;
  if (next.from === 'error-event' && current.from === 'log') return current;
  if (next.kind === current.kind && next.text.length <= current.text.length) return current;
  return next;
}

/** One cause for logging: the same kind of failure, whichever broker and wording said it. */
export function sameCause(a: ConnectionCause | null, b: ConnectionCause | null): boolean {
  return a !== null && b !== null && a.kind === b.kind;
}

/** One line for a user: the kind, librdkafka's text, what to check. */
export function describeCause(cause: ConnectionCause): string {
  return `${cause.kind}: ${cause.text}${cause.broker === null ? '' : ` (${cause.broker})`}; ${HINTS[cause.kind]}`;
}
