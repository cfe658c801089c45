import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { usageError } from '../../errors.js';
import type { RunAs } from './binaries.js';
import { localAddresses } from './local-addresses.js';
import { createFile, ownDirectory, readFileNoFollow } from './no-follow.js';

/** A generated certificate's life: long enough not to lapse between upgrades, short enough to be renewed knowingly. */
const GENERATED_DAYS = 825;

export interface TlsPaths {
  dir: string;
  cert: string;
  key: string;
  /** Where a given certificate and key were copied from (JSON), absent for a generated one. */
  origin: string;
}

export interface GivenCertificate {
  cert: string;
  key: string;
}

export interface CertificateSummary {
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256` prints it). */
  fingerprint: string;
  subject: string;
  /** The names a client may connect with and have verified: DNS names and IP addresses. */
  names: string[];
  validTo: Date;
  selfSigned: boolean;
  /** The files given with --tls-cert/--tls-key, when the certificate is not fxpipe's own. */
  given?: GivenCertificate;
}

/** FXPIPE_HOME/tls: the server's certificate and key, generated there once or copied there from the files given. */
export function tlsPaths(home: string): TlsPaths {
  const dir = path.join(home, 'tls');
  return { dir, cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), origin: path.join(dir, 'given.json') };
}

/** The names a generated certificate carries: localhost, this machine's name and every address it has, and extra ones asked for. */
export function certificateNames(extra: readonly string[] = []): string[] {
  // Link-local IPv6 addresses are left out: a client needs a zone to use one, and a certificate cannot name it.
  const addresses = localAddresses().filter((address) => !address.toLowerCase().startsWith('fe80:'));
  return [...new Set(['localhost', hostname().toLowerCase(), ...addresses, ...extra].map(canonicalName))];
}

/** One spelling per name: lower-case host names, IPv6 addresses compressed (X.509 tools print them in full). */
export function canonicalName(name: string): string {
  return isIP(name) === 6 ? new URL(`http://[${name}]`).hostname.slice(1, -1) : name.toLowerCase();
}

/**
 * Makes sure FXPIPE_HOME/tls holds a certificate and key: keeps what is there, else generates a self-signed
 * one. Returns true when it generated one.
 */
export async function ensureCertificate(home: string, owner: RunAs, extra: readonly string[] = []): Promise<boolean> {
  const paths = tlsPaths(home);
  if (existsSync(paths.cert) && existsSync(paths.key)) return false;
  await generateCertificate(home, owner, extra);
  return true;
}

/**
 * A new self-signed certificate (ECDSA P-256, SHA-256) for certificateNames(extra), replacing what FXPIPE_HOME/tls held.
 * It is its own CA (basicConstraints CA, keyCertSign), so a client can trust exactly it as root (sslmode=verify-full sslrootcert=…).
 */
export async function generateCertificate(home: string, owner: RunAs, extra: readonly string[] = []): Promise<CertificateSummary> {
  const names = certificateNames(extra);
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + GENERATED_DAYS * 86_400_000);
  // Loaded only to make one (it pulls in an ASN.1 and X.509 library): every start reads the files, few generate them.
  const { generate } = await import('selfsigned');
  const pems = await generate(
    [
      { name: 'commonName', value: names.includes(hostname()) ? hostname() : names[0]! },
      { name: 'organizationName', value: 'fxpipe' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((name) => (isIpAddress(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
      ],
    },
  );
  await writeCertificate(home, pems.cert, pems.private, owner);
  await rm(tlsPaths(home).origin, { force: true });
  return summarize(pems.cert);
}

/**
 * Copies a given certificate (chain) and key into FXPIPE_HOME/tls after checking them: both readable and well formed,
 * the key the certificate's, the certificate in its validity period. Nothing is written when a check fails.
 */
export async function installGivenCertificate(home: string, given: GivenCertificate, owner: RunAs): Promise<CertificateSummary> {
  const certText = await readGiven(given.cert, 'certificate (--tls-cert / FXPIPE_TLS_CERT)');
  const keyText = await readGiven(given.key, 'key (--tls-key / FXPIPE_TLS_KEY)');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certText);
  } catch {
    throw usageError(`${given.cert} is not a PEM certificate (--tls-cert / FXPIPE_TLS_CERT)`);
  }
  let key;
  try {
    key = createPrivateKey(keyText);
  } catch {
    throw usageError(
      `${given.key} is not an unencrypted PEM private key (--tls-key / FXPIPE_TLS_KEY): PostgreSQL cannot ask for a passphrase`,
    );
  }
  if (!cert.checkPrivateKey(key)) throw usageError(`${given.key} is not the key of the certificate in ${given.cert}`);
  const now = Date.now();
  if (new Date(cert.validTo).getTime() < now)
    throw usageError(`the certificate in ${given.cert} expired on ${new Date(cert.validTo).toISOString()}`);
  if (new Date(cert.validFrom).getTime() > now)
    throw usageError(`the certificate in ${given.cert} is not valid before ${new Date(cert.validFrom).toISOString()}`);
  await writeCertificate(home, certText, keyText, owner);
  await createFile(tlsPaths(home).origin, `${JSON.stringify({ cert: path.resolve(given.cert), key: path.resolve(given.key) })}\n`, 0o644);
  return { ...summarize(certText), given: { cert: path.resolve(given.cert), key: path.resolve(given.key) } };
}

/** What FXPIPE_HOME/tls holds now; null before the first certificate. */
export async function currentCertificate(home: string): Promise<CertificateSummary | null> {
  const paths = tlsPaths(home);
  const text = await readFile(paths.cert, 'utf8').catch(() => null);
  if (text === null) return null;
  const origin = await readFile(paths.origin, 'utf8')
    .then((json) => JSON.parse(json) as GivenCertificate)
    .catch(() => undefined);
  return { ...summarize(text), ...(origin ? { given: origin } : {}) };
}

/**
 * Puts the certificate and key where the server reads them (server.crt and server.key in its data directory, PostgreSQL's
 * defaults), owned by the server's user, the key 0600 as PostgreSQL demands. Returns true when they changed.
 */
export async function installForServer(home: string, dataDir: string, owner: RunAs): Promise<boolean> {
  const paths = tlsPaths(home);
  const cert = await readFileNoFollow(paths.cert);
  const key = await readFileNoFollow(paths.key);
  const serverCert = path.join(dataDir, 'server.crt');
  const serverKey = path.join(dataDir, 'server.key');
  const same =
    (await readFileNoFollow(serverCert).catch(() => null)) === cert && (await readFileNoFollow(serverKey).catch(() => null)) === key;
  if (same) return false;
  await createFile(serverKey, key, 0o600, owner);
  await createFile(serverCert, cert, 0o644, owner);
  return true;
}

function summarize(certText: string): CertificateSummary {
  const cert = new X509Certificate(certText);
  const names = (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined)
    .map(canonicalName);
  return {
    fingerprint: cert.fingerprint256,
    subject: cert.subject.replaceAll('\n', ', '),
    names,
    validTo: new Date(cert.validTo),
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
  };
}

async function writeCertificate(home: string, cert: string, key: string, owner: RunAs): Promise<void> {
  const paths = tlsPaths(home);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await ownDirectory(paths.dir, owner, 0o700);
  // Written aside, then renamed over: a server reading them, or a kill, never sees a key without its certificate.
  await createFile(`${paths.key}.new`, key, 0o600, owner);
  await createFile(`${paths.cert}.new`, cert, 0o644, owner);
  await rename(`${paths.key}.new`, paths.key);
  await rename(`${paths.cert}.new`, paths.cert);
}

async function readGiven(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read the ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
}

function isIpAddress(name: string): boolean {
  return isIP(name) !== 0;
}
