/**
 * The causes are read from the lines librdkafka 2.15 really emitted against the harness broker
 * (wrong CA on the SSL listener, wrong SCRAM password on the SASL listener, TLS to a plaintext
 * listener, a refused port, a name that does not resolve), copied verbatim.
 */
import { describeCause, diagnoseError, diagnoseLog, mergeCause, sameCause, type ConnectionCause } from '../../../src/kafka/connection-diagnosis';

const WRONG_CA =
  '[thrd:ssl://127.0.0.1:43129/bootstrap]: ssl://127.0.0.1:43129/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 267ms in state SSL_HANDSHAKE)';
const WRONG_CA_AGAIN = WRONG_CA.replace('(after 267ms in state SSL_HANDSHAKE)', '(after 49ms in state SSL_HANDSHAKE, 1 identical error(s) suppressed)');
const WRONG_CA_SHORT = '[thrd:ssl://127.0.0.1:43129/bootstrap]: ssl://127.0.0.1:43129/bootstrap: error:0A000086:SSL routines::certificate verify failed (after 3ms in state SSL_HANDSHAKE)';
const WRONG_PASSWORD =
  '[thrd:sasl_plaintext://127.0.0.1:40653/bootstrap]: sasl_plaintext://127.0.0.1:40653/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 370ms in state AUTH_REQ)';
const TLS_TO_PLAINTEXT =
  '[thrd:ssl://127.0.0.1:34167/bootstrap]: ssl://127.0.0.1:34167/bootstrap: SSL handshake failed: Disconnected: SSL connection closed by peer: connecting to a PLAINTEXT broker listener? (after 17ms in state SSL_HANDSHAKE)';
const REFUSED = '[thrd:127.0.0.1:1/bootstrap]: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)';
const UNRESOLVED = "[thrd:nosuchhost.invalid:9092/bootstrap]: nosuchhost.invalid:9092/bootstrap: Failed to resolve 'nosuchhost.invalid:9092': Name or service not known (after 1ms in state CONNECT)";
const PLAINTEXT_TO_TLS = '[thrd:127.0.0.1:43129/bootstrap]: 127.0.0.1:43129/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN (after 2ms in state APIVERSION_QUERY)';

function log(message: string, severity = 3): { severity: number; fac: string; message: string } {
  return { severity, fac: 'FAIL', message };
}

describe('diagnoseLog', () => {
  it.each([
    [WRONG_CA, 'certificate-verify', 'ssl://127.0.0.1:43129/bootstrap', /^SSL handshake failed: .*certificate verify failed.*ca-certificates package\)$/],
    [WRONG_PASSWORD, 'sasl-authentication', 'sasl_plaintext://127.0.0.1:40653/bootstrap', /^SASL authentication error: .*invalid credentials with SASL mechanism SCRAM-SHA-512$/],
    [TLS_TO_PLAINTEXT, 'ssl-handshake', 'ssl://127.0.0.1:34167/bootstrap', /connecting to a PLAINTEXT broker listener\?$/],
    [REFUSED, 'broker-unreachable', '127.0.0.1:1/bootstrap', /^Connect to ipv4#127.0.0.1:1 failed: Connection refused$/],
    [UNRESOLVED, 'broker-unreachable', 'nosuchhost.invalid:9092/bootstrap', /^Failed to resolve/],
  ])('%s', (message, kind, broker, text) => {
    const cause = diagnoseLog(log(message));
    expect(cause).toMatchObject({ kind, broker });
    expect(cause?.text).toMatch(text);
  });

  it('drops the retry timing; the same kind of failure in other words is the same cause', () => {
    expect(diagnoseLog(log(WRONG_CA_AGAIN))).toEqual(diagnoseLog(log(WRONG_CA)));
    expect(diagnoseLog(log(WRONG_CA_SHORT))).toMatchObject({ kind: 'certificate-verify', text: 'error:0A000086:SSL routines::certificate verify failed' });
    expect(sameCause(diagnoseLog(log(WRONG_CA)), diagnoseLog(log(WRONG_CA_SHORT)))).toBe(true);
    expect(sameCause(diagnoseLog(log(WRONG_CA)), diagnoseLog(log(WRONG_PASSWORD)))).toBe(false);
    expect(sameCause(null, null)).toBe(false);
  });

  it('ignores informational lines and lines that name no cause', () => {
    expect(diagnoseLog(log(PLAINTEXT_TO_TLS, 6))).toBeNull();
    expect(diagnoseLog(log(WRONG_CA, 7))).toBeNull();
    expect(diagnoseLog(log('[thrd:main]: Group "g" changed join state', 3))).toBeNull();
  });

  it('keeps a line without the thread prefix whole', () => {
    expect(diagnoseLog(log('SASL authentication error: bad'))).toEqual({ kind: 'sasl-authentication', text: 'SASL authentication error: bad', broker: null, from: 'log' });
  });
});

describe('diagnoseError', () => {
  it.each([
    ['ssl error', 'ssl-handshake'],
    ['authentication failure', 'sasl-authentication'],
  ])('"%s" is a %s cause without a broker', (message, kind) => {
    expect(diagnoseError({ message })).toEqual({ kind, text: message, broker: null, from: 'error-event' });
  });

  it.each(['broker transport failure', 'all broker connections are down', 'Local: Timed out'])('"%s" names no cause', (message) => {
    expect(diagnoseError({ message })).toBeNull();
  });
});

describe('mergeCause', () => {
  const fromLog = diagnoseLog(log(WRONG_PASSWORD)) as ConnectionCause;
  const fromError = diagnoseError({ message: 'authentication failure' }) as ConnectionCause;

  it('keeps the explaining log line when a bare error code follows, whatever its kind', () => {
    expect(mergeCause(fromLog, fromError)).toBe(fromLog);
    expect(mergeCause(fromLog, diagnoseError({ message: 'ssl error' }))).toBe(fromLog);
  });

  it('keeps the fuller wording of the same failure', () => {
    const full = diagnoseLog(log(WRONG_CA)) as ConnectionCause;
    const short = diagnoseLog(log(WRONG_CA_SHORT)) as ConnectionCause;
    expect(mergeCause(full, short)).toBe(full);
    expect(mergeCause(short, full)).toBe(full);
  });

  it('takes the error when nothing better is known, and a new kind over an old one', () => {
    expect(mergeCause(null, fromError)).toBe(fromError);
    const ca = diagnoseLog(log(WRONG_CA)) as ConnectionCause;
    expect(mergeCause(fromLog, ca)).toBe(ca);
    expect(mergeCause(ca, null)).toBe(ca);
  });
});

describe('describeCause', () => {
  it('names the kind, librdkafka\'s words, the broker and the settings to check', () => {
    const text = describeCause(diagnoseLog(log(WRONG_CA)) as ConnectionCause);
    expect(text).toMatch(/^certificate-verify: SSL handshake failed: .*certificate verify failed.* \(ssl:\/\/127\.0\.0\.1:43129\/bootstrap\); check SSL_CA_LOCATION/);
    expect(describeCause(diagnoseLog(log(WRONG_PASSWORD)) as ConnectionCause)).toMatch(/check SASL_USERNAME, SASL_PASSWORD and SASL_MECHANISM$/);
  });
});
