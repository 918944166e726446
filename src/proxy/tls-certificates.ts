/**
 * The certificates a TLS listener serves, chosen by the name the client asks
 * for (SNI): an exact name first, then a wildcard one label deep
 * (`*.example.com` covers `a.example.com`, not `example.com` nor
 * `a.b.example.com`, as RFC 6125 has it), else the first certificate, which
 * is also what a client sending no name gets. Names come from each
 * certificate's subjectAltName DNS entries (its CN when it has none).
 * `reload()` reads the files again and swaps every context at once; a file
 * that fails to load leaves the served certificates as they were. Open
 * connections keep the context they were made with.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import tls from "node:tls";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";

/** A PEM certificate chain and its private key, by file path. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

interface Loaded {
  contexts: Map<string, tls.SecureContext>;
  wildcards: Map<string, tls.SecureContext>;
  fallback: tls.SecureContext;
  /** The first pair's PEM text: a TLS server's own default context. */
  defaults: { cert: string; key: string };
}

export class TlsCertificates {
  readonly files: readonly CertificateFiles[];
  #loaded: Loaded;
  #onReload = new Set<() => void>();

  private constructor(files: readonly CertificateFiles[], loaded: Loaded) {
    this.files = files;
    this.#loaded = loaded;
  }

  /** Reads and checks every pair; throws SY_ERR_INVALID_OPTIONS naming the file that failed. */
  static async load(files: readonly CertificateFiles[]): Promise<TlsCertificates> {
    return new TlsCertificates(files, await loadAll(files));
  }

  /** The context for a client that asked for `servername`. */
  select(servername: string): tls.SecureContext {
    const loaded = this.#loaded;
    const name = servername.toLowerCase();
    const exact = loaded.contexts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    return (dot > 0 ? loaded.wildcards.get(name.slice(dot + 1)) : undefined) ?? loaded.fallback;
  }

  /** PEM text of the first certificate and key, for a server's default context. */
  get defaults(): { cert: string; key: string } {
    return this.#loaded.defaults;
  }

  /** Reads the files again; on failure throws and keeps serving the previous certificates. */
  async reload(): Promise<void> {
    this.#loaded = await loadAll(this.files);
    for (const listener of this.#onReload) listener();
  }

  /** Calls `listener` after each successful reload; returns a function that stops it. */
  onReload(listener: () => void): () => void {
    this.#onReload.add(listener);
    return () => this.#onReload.delete(listener);
  }
}

async function loadAll(files: readonly CertificateFiles[]): Promise<Loaded> {
  if (files.length === 0) {
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, "a TLS listener needs at least one certificate");
  }
  const contexts = new Map<string, tls.SecureContext>();
  const wildcards = new Map<string, tls.SecureContext>();
  let first: { context: tls.SecureContext; cert: string; key: string } | undefined;
  for (const pair of files) {
    const cert = await readPem(pair.cert, "certificate");
    const key = await readPem(pair.key, "key");
    let context: tls.SecureContext;
    let names: string[];
    try {
      context = tls.createSecureContext({ cert, key });
      names = dnsNames(new X509Certificate(cert));
    } catch (error) {
      throw new SwitchyardError(
        ErrorCodes.INVALID_OPTIONS,
        `TLS certificate ${pair.cert} with key ${pair.key}: ${(error as Error).message}`,
        { cert: pair.cert, key: pair.key },
      );
    }
    first ??= { context, cert, key };
    for (const name of names) {
      // The first certificate listed for a name wins, as in HAProxy's crt-list.
      if (name.startsWith("*.")) {
        if (!wildcards.has(name.slice(2))) wildcards.set(name.slice(2), context);
      } else if (!contexts.has(name)) {
        contexts.set(name, context);
      }
    }
  }
  const defaults = first as { context: tls.SecureContext; cert: string; key: string };
  return {
    contexts,
    wildcards,
    fallback: defaults.context,
    defaults: { cert: defaults.cert, key: defaults.key },
  };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `cannot read the TLS ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { path },
    );
  }
}

/** Lower-case DNS names from subjectAltName, or the subject's CN when there are none. */
function dnsNames(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (certificate.subjectAltName ?? "").split(",")) {
    const trimmed = entry.trim();
    if (trimmed.startsWith("DNS:")) names.push(trimmed.slice(4).toLowerCase());
  }
  if (names.length > 0) return names;
  const cn = /^CN=(.+)$/m.exec(certificate.subject)?.[1];
  return cn === undefined ? [] : [cn.trim().toLowerCase()];
}
