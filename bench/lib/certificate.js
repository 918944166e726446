/**
 * The TLS certificate of bench/edge.js, made by openssl at run time (no key is
 * committed): self-signed, ECDSA P-256, for 127.0.0.1 and localhost, valid one
 * day. Written as `cert.pem` and `key.pem` (Switchyard) and as both in one
 * `combined.pem` (HAProxy's `crt`), in a temporary directory removed by `cleanup()`.
 */
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { benchTempDir } from "./configured-child.js";

export const CERTIFICATE_KIND = "self-signed ECDSA P-256 (prime256v1), SHA-256";

export async function makeBenchCertificate() {
  const { dir, cleanup } = await benchTempDir("certificate");
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-sha256",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  const pem = path.join(dir, "combined.pem");
  await writeFile(pem, `${await readFile(cert, "utf8")}${await readFile(key, "utf8")}`);
  return { cert, key, pem, cleanup };
}
