/**
 * A private certificate authority for a lattice's TLS: a CA and the server certificates signed by
 * it (nats-server, the gRPC gateway), and client certificates for mutual TLS. Made with
 * @peculiar/x509 on Node's WebCrypto (ECDSA P-256) — no home-made crypto. Created once in a
 * directory and reused; a certificate close to expiry is made again at the next start.
 *
 *   <dir>/ca.pem, <dir>/ca-key.pem          the CA (the key never leaves this directory)
 *   <dir>/server.pem, <dir>/server-key.pem  for 127.0.0.1, ::1 and localhost (plus `hosts`)
 */
import 'reflect-metadata';
import { webcrypto, type webcrypto as WebCrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = WebCrypto.CryptoKey;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** A certificate with less validity left than this is made again. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

/** The files of a server's TLS. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The names every local certificate covers. */
const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

/**
 * The CA and server certificate in `dir`, made (or renewed) when missing or close to expiry. The
 * server certificate covers loopback and `hosts` (names or IP addresses).
 */
export async function ensureServerTls(dir: string, hosts: string[] = []): Promise<TlsFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(dir);
  const files = { caFile: ca.file, certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server-key.pem') };
  const names = [...new Set([...LOOPBACK, ...hosts])];
  if (!ca.fresh && valid(files.certFile, names)) return files;
  const { cert, key } = await issueServerLeaf(ca, names, 825);
  await writeKeyPair(files.certFile, files.keyFile, cert, key);
  return files;
}

/**
 * A server certificate for `names` (DNS names or IP addresses, nothing implicit) signed by the CA
 * in `dir` (made when missing), returned rather than written: for servers elsewhere, such as the
 * NATS Service of a Kubernetes install, whose key must end up in a Secret, not in this home.
 */
export async function issueServerCert(
  dir: string,
  names: string[],
  validDays = 825,
): Promise<{ cert: string; key: string; ca: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(dir);
  const { cert, key } = await issueServerLeaf(ca, [...new Set(names)], validDays);
  return { cert: cert.toString('pem') + '\n', key: await pkcs8Pem(key), ca: ca.cert.toString('pem') + '\n' };
}

/** A server-auth leaf for `names`. */
function issueServerLeaf(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  names: string[],
  validDays: number,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  return issueLeaf(ca, 'CN=wasmesh server', validDays, x509.ExtendedKeyUsage.serverAuth, [
    new x509.SubjectAlternativeNameExtension(
      names.map((n): x509.JsonGeneralName => ({ type: net.isIP(n) ? 'ip' : 'dns', value: n })),
      false,
    ),
  ]);
}

/**
 * A client certificate signed by the CA in `dir` (made by {@link ensureServerTls}), for mutual
 * TLS: `commonName` names the client, `organizationalUnit` carries its role.
 */
export async function issueClientCert(
  dir: string,
  commonName: string,
  organizationalUnit: string,
  validDays = 365,
): Promise<{ cert: string; key: string }> {
  const subject = `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}, OU=${organizationalUnit}`;
  const { cert, key } = await issueLeaf(await ensureCa(dir), subject, validDays, x509.ExtendedKeyUsage.clientAuth, []);
  return { cert: cert.toString('pem'), key: await pkcs8Pem(key) };
}

/** A new key and an end-entity certificate for it, signed by `ca`, for `usage` (server or client auth). */
async function issueLeaf(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  subject: string,
  validDays: number,
  usage: x509.ExtendedKeyUsage,
  extensions: x509.Extension[],
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + validDays * DAY_MS),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage], false),
      ...extensions,
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });
  return { cert, key: keys.privateKey };
}

/** The CA of `dir`, made when missing or close to expiry (`fresh` then). */
async function ensureCa(
  dir: string,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey; file: string; fresh: boolean }> {
  const file = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'ca-key.pem');
  if (valid(file, []) && existsSync(keyFile)) {
    const cert = new x509.X509Certificate(readFileSync(file, 'utf8'));
    const der = Buffer.from(readFileSync(keyFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    return { cert, key, file, fresh: false };
  }
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=wasmesh lattice CA',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeKeyPair(file, keyFile, cert, keys.privateKey);
  return { cert, key: keys.privateKey, file, fresh: true };
}

/** Whether the certificate in `file` exists, is valid long enough, and names every one of `names`. */
function valid(file: string, names: string[]): boolean {
  if (!existsSync(file)) return false;
  try {
    const cert = new x509.X509Certificate(readFileSync(file, 'utf8'));
    if (cert.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    if (names.length === 0) return true;
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = new Set((san?.names.items ?? []).map((n) => n.value));
    return names.every((n) => have.has(n));
  } catch {
    return false;
  }
}

async function writeKeyPair(
  certFile: string,
  keyFile: string,
  cert: x509.X509Certificate,
  key: CryptoKey,
): Promise<void> {
  writeFileSync(keyFile, await pkcs8Pem(key), { mode: 0o600 });
  writeFileSync(certFile, cert.toString('pem') + '\n');
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const b64 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** A random positive serial number (hex). */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}
