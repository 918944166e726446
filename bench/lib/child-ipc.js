import { writeFile } from "node:fs/promises";
import v8 from "node:v8";

/**
 * The child side of bench IPC: report readiness, answer `gc`/`memory`
 * requests, and exit when the parent goes away or after a lifetime cap, so a
 * bench never leaves a process behind.
 */

let profiler;

/** Starts the V8 CPU profiler in this process (for BENCH_PROFILE=1), sampling every 100 µs. */
async function startProfile() {
  const { Session } = await import("node:inspector/promises");
  profiler = new Session();
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.setSamplingInterval", { interval: 100 });
  await profiler.post("Profiler.start");
}

/** Stops the profiler and writes the .cpuprofile to `file`. */
async function stopProfile(file) {
  if (!profiler) throw new Error("profiler not started");
  const { profile } = await profiler.post("Profiler.stop");
  profiler.disconnect();
  profiler = undefined;
  await writeFile(file, JSON.stringify(profile));
}

/**
 * Resident bytes of V8's young generation (the new space). V8 grows it from
 * about 2 MB to 32 MB under allocation and a full gc() may shrink it again:
 * a bounded buffer whose size follows the allocation rate, not what is held.
 */
function youngGenerationBytes() {
  return (
    v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.physical_space_size ?? 0
  );
}

/** Bound on any bench child's life, in ms (a bench run is far shorter). */
const MAX_LIFETIME_MS = 60 * 60 * 1000;

/**
 * Wires the child: `onStop` closes its servers before exit. Extra request
 * handlers may be passed as `{ [type]: async (message) => reply }`.
 */
export function serveParent({ onStop = async () => {}, handlers = {} } = {}) {
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code), 3_000);
    force.unref();
    try {
      await onStop();
    } finally {
      process.exit(code);
    }
  };
  setTimeout(() => stop(0), MAX_LIFETIME_MS).unref();
  process.on("disconnect", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  process.on("message", async (message) => {
    if (!message || typeof message !== "object") return;
    try {
      if (message.type === "memory") {
        if (message.gc && typeof globalThis.gc === "function") {
          globalThis.gc();
          globalThis.gc();
        }
        send({
          id: message.id,
          type: "memory",
          ...process.memoryUsage(),
          youngGeneration: youngGenerationBytes(),
        });
      } else if (message.type === "profile-start") {
        await startProfile();
        send({ id: message.id, type: "profile-start" });
      } else if (message.type === "profile-stop") {
        await stopProfile(message.file);
        send({ id: message.id, type: "profile-stop", file: message.file });
      } else if (message.type === "stop") {
        send({ id: message.id, type: "stopping" });
        await stop(0);
      } else if (handlers[message.type]) {
        const reply = await handlers[message.type](message);
        send({ id: message.id, type: message.type, ...reply });
      }
    } catch (error) {
      send({ id: message.id, type: "error", message: error?.stack ?? String(error) });
    }
  });
  return { ready: (info = {}) => send({ type: "ready", ...info }), stop };
}

function send(message) {
  if (process.connected) process.send(message);
}

/** Reports a start-up failure to the parent and exits. */
export function failStartup(error) {
  send({ type: "error", message: error?.stack ?? String(error) });
  setTimeout(() => process.exit(1), 100);
}
