/** Installs a bench's external tool from Debian when it is missing (HAProxy, NGINX). */
import { spawnSync } from "node:child_process";
import { hasCommand } from "./children.js";

/** Makes sure `command` exists, installing `aptPackage`; returns a reason string when it cannot be had. */
export function ensureInstalled(command, aptPackage, log = console.log) {
  if (hasCommand(command)) return undefined;
  if (!hasCommand("apt-get")) return `${command} is not installed and apt-get is not available`;
  log(`${command} missing: apt-get install -y ${aptPackage}`);
  const install = () =>
    spawnSync("apt-get", ["install", "-y", aptPackage], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    }).status === 0;
  if (!install()) {
    log("apt-get install failed: apt-get update, then retry");
    spawnSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
    if (!install()) return `apt-get install -y ${aptPackage} failed`;
  }
  return hasCommand(command) ? undefined : `${command} still not on PATH after installing`;
}
