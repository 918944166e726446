/**
 * Before a bench measures its targets, each must answer GET / with the bench
 * backend's 200 "ok\n"; one that does not is dropped with a note, so a broken
 * target shows as skipped instead of as a throughput figure.
 */
import http from "node:http";
import https from "node:https";

/** Removes from `targets` those that fail the check, each with a note naming it (`labels[target.key]`). */
export async function dropTargetsNotAnsweringOk(targets, labels, notes, { tls = false } = {}) {
  for (const target of [...targets]) {
    try {
      const { status, body } = await getOnce(target.port, tls);
      if (status !== 200 || body !== "ok\n") throw new Error(`answered ${status} ${JSON.stringify(body)}`);
    } catch (error) {
      notes.push(`${labels[target.key]} skipped: check request failed: ${error.message}`);
      targets.splice(targets.indexOf(target), 1);
    }
  }
}

/** One GET / on a fresh connection; over TLS the certificate is not verified (the benches' is self-signed). */
function getOnce(port, tls) {
  const client = tls ? https : http;
  return new Promise((resolve, reject) => {
    const options = { host: "127.0.0.1", port, path: "/", agent: false, timeout: 5_000 };
    const req = client.get(tls ? { ...options, rejectUnauthorized: false } : options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}
