/**
 * The files in deploy/ that start Switchyard: every Switchyard config there
 * (the ConfigMap's embedded one too) passes `switchyard validate`; the
 * systemd unit passes `systemd-analyze verify`; the Dockerfile builds in two
 * stages, copies only what exists and runs as a non-root user whose health
 * check asks `/ready` on the admin port its config listens on; the
 * Kubernetes Deployment mounts the ConfigMap where its command reads it and
 * probes `/ready` on that admin port, and the Service targets named ports
 * the pods expose.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { YOUNG_GENERATION_CAP } from "../src/cli/v8-flags.js";
import { parseListenAddress } from "../src/config/schema.js";
import { killLaunched, ROOT, run } from "./helpers/cli.js";
import { useTempDir } from "./helpers/fixtures.js";
import { runTool } from "./helpers/tools.js";

const DEPLOY = join(ROOT, "deploy");
const dir = useTempDir("switchyard-deploy-files-");

afterEach(() => killLaunched());

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes manifests read as plain YAML; the assertions check the shape
type Manifest = any;

async function manifests(): Promise<Manifest[]> {
  const files = ["configmap.yaml", "deployment.yaml", "service.yaml"];
  const texts = await Promise.all(files.map((file) => readFile(join(DEPLOY, "kubernetes", file), "utf8")));
  return texts.flatMap((text) => parseAllDocuments(text).map((document) => document.toJS()));
}

function kind(all: Manifest[], name: string): Manifest {
  const found = all.find((manifest) => manifest.kind === name);
  expect(found, `a ${name} in deploy/kubernetes`).toBeDefined();
  return found;
}

/** The admin API's port in a Switchyard config's text. */
function adminPort(configText: string): number {
  const listen = (parseYaml(configText) as { admin?: { listen?: string } }).admin?.listen;
  const port = parseListenAddress(listen ?? "")?.port;
  expect(port, "the config has an admin listen address").toBeDefined();
  return port as number;
}

/** The first executable named `name` on PATH, if any. */
function onPath(name: string): string | undefined {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .map((folder) => join(folder, name))
    .find((file) => existsSync(file));
}

describe("deploy/", () => {
  it("holds Switchyard configs that all pass switchyard validate, the ConfigMap's included", async () => {
    const configMap = kind(await manifests(), "ConfigMap");
    const embedded = await dir.file("configmap-switchyard.yaml", configMap.data["switchyard.yaml"]);
    for (const file of [join(DEPLOY, "switchyard.yaml"), embedded]) {
      const result = await run(["validate", "--config", file]);
      expect(result, file).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout).toMatch(/^ok: 1 listener, 1 pool, 2 backends/);
    }
  });

  it("has a systemd unit that passes systemd-analyze verify", async (context) => {
    const analyze = onPath("systemd-analyze");
    if (analyze === undefined) context.skip("systemd-analyze is not installed (Debian package systemd)");
    const unit = join(DEPLOY, "systemd", "switchyard.service");
    const result = await runTool(analyze as string, ["verify", unit]);
    expect({ code: result.code, findings: result.stdout + result.stderr }).toEqual({ code: 0, findings: "" });
    const text = await readFile(unit, "utf8");
    expect(text).toMatch(/^ExecStart=node \/opt\/switchyard\/bin\/switchyard.js proxy --config (\S+)$/m);
    expect(text).toMatch(/^DynamicUser=yes$/m);
  });

  it("has a two-stage Dockerfile: non-root at run time, health checked on /ready of the config's admin port", async () => {
    const dockerfile = await readFile(join(DEPLOY, "Dockerfile"), "utf8");
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    const [build = "", runtime = ""] = stages;
    expect(build).toMatch(/^RUN npm ci\b/m);
    // Every file the build copies from the repository exists.
    // Every file the build copies from the repository exists and is let into the build context.
    const allowed = (await readFile(join(ROOT, ".dockerignore"), "utf8")).split("\n");
    expect(allowed).toContain("*");
    for (const [, sources = ""] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of sources.split(" ")) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(allowed, `.dockerignore lets ${source} in`).toContain(`!${source.replace(/\/$/, "")}`);
      }
    }
    expect(runtime).toMatch(/^USER (?!root\b|0\b)\S+$/m);
    const config = /^COPY (deploy\/\S+\.yaml) (\S+)$/m.exec(runtime);
    expect(config, "the runtime stage copies a config from deploy/").not.toBeNull();
    const [, source = "", target = ""] = config as RegExpExecArray;
    const port = adminPort(await readFile(join(ROOT, source), "utf8"));
    expect(runtime).toMatch(new RegExp(`^HEALTHCHECK .*http://127\\.0\\.0\\.1:${port}/ready`, "ms"));
    expect(runtime).toContain(`CMD ["proxy", "--config", "${target}"]`);
    // Drained before `docker stop` (10 s by default) kills the container.
    expect(parseYaml(await readFile(join(ROOT, source), "utf8")).shutdownGraceMs).toBeLessThan(10_000);
  });

  it("starts Node with the young-generation cap the CLI adds and the memory bench measures, in the image and the unit", async () => {
    const cap = YOUNG_GENERATION_CAP;
    expect(cap).toMatch(/^--max-semi-space-size=\d+$/);
    const setting = `NODE_OPTIONS=${cap}`;
    expect(await readFile(join(DEPLOY, "Dockerfile"), "utf8")).toMatch(new RegExp(`^ENV ${setting}$`, "m"));
    const unit = await readFile(join(DEPLOY, "systemd", "switchyard.service"), "utf8");
    expect(unit).toMatch(new RegExp(`^Environment=${setting}$`, "m"));
    // The flag must be one Node takes from NODE_OPTIONS: a child started with it runs.
    const child = spawnSync(process.execPath, ["-e", "0"], {
      env: { ...process.env, NODE_OPTIONS: cap },
      encoding: "utf8",
    });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: "" });
  });

  it("has Kubernetes manifests: readiness on /ready of the admin port, the ConfigMap mounted where it is read", async () => {
    const all = await manifests();
    const configMap = kind(all, "ConfigMap");
    const deployment = kind(all, "Deployment");
    const service = kind(all, "Service");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const ports = new Map(
      container.ports.map((port: { name: string; containerPort: number }) => [port.name, port.containerPort]),
    );
    expect(container.readinessProbe.httpGet.path).toBe("/ready");
    expect(ports.get(container.readinessProbe.httpGet.port)).toBe(
      adminPort(configMap.data["switchyard.yaml"]),
    );
    expect(pod.securityContext.runAsNonRoot).toBe(true);

    const configArg = container.args[container.args.indexOf("--config") + 1];
    const mount = container.volumeMounts.find((volume: { mountPath: string }) =>
      configArg.startsWith(`${volume.mountPath}/`),
    );
    const volume = pod.volumes.find((candidate: { name: string }) => candidate.name === mount?.name);
    expect(volume?.configMap?.name).toBe(configMap.metadata.name);
    expect(Object.keys(configMap.data)).toContain(configArg.slice(mount.mountPath.length + 1));

    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    for (const port of service.spec.ports) expect(ports.has(port.targetPort), port.targetPort).toBe(true);
  });
});
