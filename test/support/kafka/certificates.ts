// Throw-away X.509 material for secure test clusters, made with the `openssl` command line (Node
// can verify certificates but not issue them). Every cluster run gets its own CA, so a client
// that trusts one cluster's CA is refused by every other cluster: the "untrusted certificate" case.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireCommand } from './jars.ts';

const run = promisify(execFile);

/** Long enough for any test run, short enough that a leaked key is worthless. */
const VALID_DAYS = 7;

/**
 * Our own extension sections, so the result does not depend on the system's openssl.cnf. The
 * server certificate names 127.0.0.1 and localhost: clients verify the host name against the
 * SAN (Node checks IP SANs for an IP host), and every node of a local cluster listens on 127.0.0.1.
 */
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

export interface CertificateAuthority {
  /** PEM certificate: what clients trust (`ssl.ca`, the daemon's `tls.ca`). */
  readonly certFile: string;
  /** PEM private key (unencrypted PKCS#8). */
  readonly keyFile: string;
}

export interface ServerCertificate {
  /** PEM certificate signed by the CA. */
  readonly certFile: string;
  /** PEM private key (unencrypted PKCS#8). */
  readonly keyFile: string;
  /** Private key followed by the certificate: a Kafka `ssl.keystore.type=PEM` keystore file. */
  readonly keystoreFile: string;
}

async function openssl(args: string[], dir: string): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (error) {
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

async function configFile(dir: string): Promise<string> {
  const file = path.join(dir, 'openssl.cnf');
  await writeFile(file, OPENSSL_CONFIG);
  return file;
}

/** A new self-signed CA in `dir` (created if missing): `<name>-ca.pem` and `<name>-ca.key`. */
export async function createCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  await requireCommand('openssl', ['version'], 'it makes the certificates of secure test clusters');
  await mkdir(dir, { recursive: true });
  const config = await configFile(dir);
  const certFile = path.join(dir, `${name}-ca.pem`);
  const keyFile = path.join(dir, `${name}-ca.key`);
  await openssl(
    [
      'req',
      '-x509',
      '-config',
      config,
      '-extensions',
      'ca',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      String(VALID_DAYS),
      '-subj',
      `/CN=kafka-mirror test CA ${name} ${randomBytes(4).toString('hex')}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    dir,
  );
  return { certFile, keyFile };
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca`, in `dir` as `<name>.pem` / `.key` / `-keystore.pem`. */
export function issueServerCertificate(
  ca: CertificateAuthority,
  dir: string,
  name: string,
): Promise<ServerCertificate> {
  return issueCertificate(ca, dir, name, 'server', '/CN=127.0.0.1');
}

/** A client certificate (extended key usage clientAuth, for mutual TLS) signed by `ca`, in `dir` as `<name>.pem` / `.key`. */
export function issueClientCertificate(
  ca: CertificateAuthority,
  dir: string,
  name: string,
): Promise<ServerCertificate> {
  return issueCertificate(ca, dir, name, 'client', `/CN=${name}`);
}

async function issueCertificate(
  ca: CertificateAuthority,
  dir: string,
  name: string,
  extensions: 'server' | 'client',
  subject: string,
): Promise<ServerCertificate> {
  await mkdir(dir, { recursive: true });
  const config = await configFile(dir);
  const keyFile = path.join(dir, `${name}.key`);
  const requestFile = path.join(dir, `${name}.csr`);
  const certFile = path.join(dir, `${name}.pem`);
  const keystoreFile = path.join(dir, `${name}-keystore.pem`);
  await openssl(
    [
      'req',
      '-new',
      '-config',
      config,
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      keyFile,
      '-out',
      requestFile,
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      requestFile,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      // A random serial, so no serial file is left behind and no two certificates share one.
      '-set_serial',
      `0x${randomBytes(12).toString('hex')}`,
      '-sha256',
      '-days',
      String(VALID_DAYS),
      '-extfile',
      config,
      '-extensions',
      extensions,
      '-out',
      certFile,
    ],
    dir,
  );
  // Kafka's PEM keystore (KIP-651) reads the key and the chain from one file; with no
  // ssl.key.password the key must be unencrypted PKCS#8, which is what `openssl req -nodes` writes.
  const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  await writeFile(keystoreFile, key + cert, { mode: 0o600 });
  return { certFile, keyFile, keystoreFile };
}
