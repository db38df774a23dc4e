/**
 * Throwaway TLS material for the test broker's SSL listener, made with the openssl command line:
 * a CA, and a broker certificate for 127.0.0.1 signed by it in a PKCS#12 keystore (Kafka reads
 * PKCS#12 natively, so keytool is not needed). A second, unrelated CA lets tests present the wrong
 * one. Keys are 2048-bit RSA and the certificates live two days: they die with the temp dir.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CertificateAuthority {
  /** PEM certificate, what a client passes as SSL_CA_LOCATION. */
  readonly certificate: string;
  readonly key: string;
}

export interface BrokerKeystore {
  /** PKCS#12 file holding the broker's key and its certificate chain. */
  readonly location: string;
  readonly password: string;
}

const DAYS = '2';

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA in `dir` named `<name>.pem` / `<name>.key`. */
export function createCertificateAuthority(dir: string, name: string): CertificateAuthority {
  const certificate = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certificate, '-days', DAYS, '-subj', `/CN=${name}`]);
  return { certificate, key };
}

/** The broker's certificate for 127.0.0.1 and localhost, signed by `ca`, in a PKCS#12 keystore. */
export function createBrokerKeystore(dir: string, ca: CertificateAuthority, password: string): BrokerKeystore {
  const key = path.join(dir, 'broker.key');
  const request = path.join(dir, 'broker.csr');
  const certificate = path.join(dir, 'broker.pem');
  const extensions = path.join(dir, 'broker.ext');
  const location = path.join(dir, 'broker.p12');
  // librdkafka checks the host name against the subject alternative names, not the CN.
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', request, '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', request, '-CA', ca.certificate, '-CAkey', ca.key, '-CAcreateserial', '-out', certificate, '-days', DAYS, '-extfile', extensions]);
  openssl(['pkcs12', '-export', '-in', certificate, '-inkey', key, '-certfile', ca.certificate, '-out', location, '-passout', `pass:${password}`]);
  return { location, password };
}
