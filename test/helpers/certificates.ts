/**
 * Certificates made by openssl at test time (no private key is committed):
 * self-signed ones for listeners, and a small CA that signs server and client
 * certificates for TLS to backends and mTLS. P-256 keys, valid one day.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CertificateFiles } from "../../src/proxy/tls-certificates.js";

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

/** subjectAltName entries: IP addresses as IP, the rest as DNS names. */
function altNames(names: readonly string[]): string {
  return names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
}

/** A self-signed certificate, subject CN `cn`, with `extensions` (openssl -addext values). */
function selfSigned(dir: string, file: string, cn: string, extensions: readonly string[]): CertificateFiles {
  const pair = { cert: join(dir, `${file}.pem`), key: join(dir, `${file}.key`) };
  openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "1",
    "-subj",
    `/CN=${cn}`,
    ...extensions.flatMap((extension) => ["-addext", extension]),
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
  ]);
  return pair;
}

/** A self-signed certificate for `names`, common name `cn`, written as `dir/file.pem` and `.key`. */
export function makeSelfSigned(
  dir: string,
  file: string,
  cn: string,
  names: readonly string[],
): CertificateFiles {
  return selfSigned(dir, file, cn, [`subjectAltName=${altNames(names)}`]);
}

/** A CA certificate that may sign others. */
export function makeCa(dir: string, file: string): CertificateFiles {
  return selfSigned(dir, file, file, [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** A certificate signed by `ca` for `names` (server use), or for a client when `names` is empty. */
export function makeSigned(
  dir: string,
  ca: CertificateFiles,
  file: string,
  cn: string,
  names: readonly string[],
): CertificateFiles {
  const pair = { cert: join(dir, `${file}.pem`), key: join(dir, `${file}.key`) };
  const request = join(dir, `${file}.csr`);
  openssl(["req", "-new", ...EC_KEY, "-subj", `/CN=${cn}`, "-keyout", pair.key, "-out", request]);
  const extensions = join(dir, `${file}.ext`);
  const usage = names.length === 0 ? "extendedKeyUsage=clientAuth" : `subjectAltName=${altNames(names)}`;
  writeFileSync(extensions, `${usage}\n`);
  openssl([
    "x509",
    "-req",
    "-in",
    request,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    extensions,
    "-out",
    pair.cert,
  ]);
  return pair;
}
