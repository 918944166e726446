/**
 * The live dashboard's files, served by the admin listener: `/` is its
 * index.html, `/app.js` and `/app.css` its bundle, built by
 * `npm run build` (scripts/build-dashboard.mjs) into dist/dashboard. Only
 * these three names are served, so no request path ever reaches the file
 * system. Files are read on each request (they are small and the admin API is
 * not a hot path), so a rebuild shows without a restart; browsers revalidate
 * with the ETag and get 304 while nothing changed. Without a build, every
 * dashboard path answers 503 with the command to run.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes } from "../core/errors.js";
import type { Logger } from "../observability/logger.js";
import type { AdminHandler, AdminReply } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
import type { Router } from "./router.js";

/** dist/dashboard at the package root: two levels above this module in both src/admin and dist/admin. */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));
}

/** Request path → file in the dashboard directory and its content type. */
const DASHBOARD_FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  "/": { file: "index.html", contentType: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", contentType: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", contentType: "text/css; charset=utf-8" },
};

/** Same-origin only, no framing (the page holds write controls), no third-party anything. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

export function addDashboardRoutes(router: Router<AdminHandler>, directory: string, logger: Logger): void {
  let warned = false;
  for (const [path, { file, contentType }] of Object.entries(DASHBOARD_FILES)) {
    router.add("GET", path, async (request) => {
      try {
        return await serveFile(join(directory, file), contentType, request.headers["if-none-match"]);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        if (!warned) {
          warned = true;
          logger.warn({ directory }, "dashboard not built: run npm run build");
        }
        throw new AdminError(ErrorCodes.DASHBOARD_NOT_BUILT);
      }
    });
  }
}

async function serveFile(
  path: string,
  contentType: string,
  ifNoneMatch: string | undefined,
): Promise<AdminReply> {
  const info = await stat(path);
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    etag,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  };
  if (ifNoneMatch?.split(/\s*,\s*/).includes(etag)) {
    return { status: 304, body: null, headers, text: { contentType, data: "" } };
  }
  return { body: null, headers, text: { contentType, data: await readFile(path) } };
}
