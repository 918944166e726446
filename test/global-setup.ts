/**
 * Runs once before any test file: builds the package (the CLI, cluster and
 * agent tests run the compiled `bin/switchyard.js`) and installs the Debian
 * packages the browser, etcd and TLS tests drive (Chromium, etcd-server,
 * openssl, curl) when they
 * are missing, so a fresh machine needs nothing beyond `npm install && npm
 * test`. Doing both here, not in each test file, keeps files from racing for
 * dist/ or for dpkg's lock.
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
