/**
 * The published package as a user gets it: `npm pack` of the built tree,
 * unpacked into a fresh project's node_modules next to links to its runtime
 * dependencies only (no registry needed, and a devDependency used at run time
 * would fail here), its bin linked by npm itself, then `npx switchyard` and
 * imports by package name. Needs `npm run build` first, as `npm test` does.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, realpath, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

interface PackResult {
  filename: string;
  files: { path: string }[];
}

describe("npm package", () => {
  const pkg = { name: "", version: "", dependencies: {} as Record<string, string> };
  let temp: string;
  let project: string;
  let packed: PackResult;

  beforeAll(async () => {
    Object.assign(pkg, JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")));
    temp = await mkdtemp(join(tmpdir(), "switchyard-pack-"));
    // --ignore-scripts: `prepare` would rebuild; the test packs the build `npm run build` made.
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", temp], {
      cwd: ROOT,
    });
    packed = (JSON.parse(stdout) as PackResult[])[0] as PackResult;

    project = join(temp, "project");
    const installed = join(project, "node_modules", pkg.name);
    await mkdir(installed, { recursive: true });
    await run("tar", ["-xzf", join(temp, packed.filename), "-C", installed, "--strip-components=1"]);
    for (const name of Object.keys(pkg.dependencies)) {
      const link = join(project, "node_modules", name);
      await mkdir(dirname(link), { recursive: true });
      await symlink(await realpath(join(ROOT, "node_modules", name)), link, "dir");
    }
    await run("npm", ["rebuild", pkg.name, "--ignore-scripts", "--offline"], { cwd: project });
  }, 60_000);

  afterAll(async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it("ships the build, the launcher and the legal files, without source maps or sources", () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "bin/switchyard.js",
        "dist/cli/main.js",
        "dist/cli/v8-flags.js",
        "dist/index.d.ts",
        "dist/dashboard/index.html",
        "dist/lab-report/report.js",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "switchyard.schema.json",
      ]),
    );
    expect(paths.filter((path) => path.endsWith(".map") || path.startsWith("src/"))).toEqual([]);
  });

  it("`npx switchyard` runs the installed command", async () => {
    const version = await run("npx", ["--offline", "switchyard", "--version"], { cwd: project });
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await run("npx", ["--offline", "switchyard", "--help"], { cwd: project });
    expect(help.stdout).toMatch(/^Usage: switchyard /);
    expect(help.stdout).toContain("proxy");
  });

  it("imports by package name: the root, engine and dispatcher entries, and the config JSON Schema", async () => {
    const script = `
      import { readFileSync } from "node:fs";
      const root = await import("${pkg.name}");
      const engine = await import("${pkg.name}/engine");
      const dispatcher = await import("${pkg.name}/dispatcher");
      const schema = JSON.parse(readFileSync(new URL(import.meta.resolve("${pkg.name}/switchyard.schema.json")), "utf8"));
      console.log(typeof root.createBalancer, typeof engine.createBalancer, typeof dispatcher.BalancedDispatcher, schema.title);`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: project });
    expect(stdout.trim()).toBe("function function function Switchyard configuration");
  });
});
