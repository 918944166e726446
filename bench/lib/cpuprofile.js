/** Summarizes a V8 .cpuprofile: self time per function and per area, idle excluded. */
import { readFile } from "node:fs/promises";

const NOT_WORK = new Set(["(idle)"]);

/** Where a frame's code lives: Switchyard, undici, Node's own JS, the bench, or native/V8. */
function area(url) {
  if (!url) return "native / V8 (syscalls, string and buffer builtins, GC, runtime)";
  if (url.includes("/dist/")) return "Switchyard (dist/)";
  if (url.includes("node_modules/undici")) return "undici";
  if (url.startsWith("node:")) return "Node core JS (http, net, streams, events)";
  if (url.startsWith("wasm://")) return "undici llhttp (wasm)";
  if (url.includes("/bench/")) return "bench code";
  return "other JS";
}

export async function summarizeProfile(file, limit = 20) {
  const profile = JSON.parse(await readFile(file, "utf8"));
  const hits = new Map(profile.nodes.map((node) => [node.id, 0]));
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  let total = 0;
  let idle = 0;
  const byFrame = new Map();
  const byArea = new Map();
  for (const node of profile.nodes) {
    const count = hits.get(node.id) || node.hitCount || 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (NOT_WORK.has(functionName)) {
      idle += count;
      continue;
    }
    total += count;
    const where = url
      ? `${url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|dist|bench)\//, "$1/")}:${lineNumber + 1}`
      : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    byFrame.set(key, (byFrame.get(key) ?? 0) + count);
    const group = area(url);
    byArea.set(group, (byArea.get(group) ?? 0) + count);
  }
  const sorted = (map) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, share: count / total }));
  return {
    idleShare: idle / (idle + total),
    frames: sorted(byFrame).slice(0, limit),
    areas: sorted(byArea),
  };
}
