/**
 * Runs once before any test file: builds the package (the CLI, cluster and
 * agent tests run the compiled `bin/switchyard.js`) and installs the Debian
 * packages the browser, etcd, TLS and metrics tests drive (Chromium,
 * etcd-server, openssl, curl, prometheus for promtool, nghttp2-client for h2load) when they are
 * missing, so a fresh Debian machine needs nothing beyond `npm install && npm
 * test`. Installing takes root on Debian; anywhere else the run stops at once
 * with one line naming the packages to install. Doing both here, not in each
 * test file, keeps files from racing for dist/ or for dpkg's lock.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian package → the executable the tests run from it. */
export const DEBIAN_TOOLS = {
  chromium: "/usr/bin/chromium",
  "etcd-server": "/usr/bin/etcd",
  // Certificates for the TLS tests are made at test time; curl is a real client against them.
  openssl: "/usr/bin/openssl",
  curl: "/usr/bin/curl",
  // promtool checks a real /metrics scrape and the alert rules in deploy/.
  prometheus: "/usr/bin/promtool",
  // h2load is a real HTTP/2 load client against the proxy's h2 and h2c listeners.
  "nghttp2-client": "/usr/bin/h2load",
} as const;

export default function setup(): void {
  execFileSync("npm", ["run", "build", "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  installDebianTools();
}

function installDebianTools(): void {
  const missing = Object.entries(DEBIAN_TOOLS)
    .filter(([, binary]) => !existsSync(binary))
    .map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync("/etc/debian_version")) {
    throw new Error(
      `npm test needs the Debian packages ${missing.join(", ")} and installs them only as root on Debian: run apt-get install -y ${missing.join(" ")} as root`,
    );
  }
  const apt = (...args: string[]) =>
    execFileSync("apt-get", args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  try {
    apt("install", "-y", "--no-install-recommends", ...missing);
  } catch {
    // A fresh machine's package lists may be stale or absent: refresh once and retry.
    apt("update");
    apt("install", "-y", "--no-install-recommends", ...missing);
  }
}
