/** See build-dashboard.mjs. */
export const DEFAULT_DASHBOARD_OUT_DIR: string;
export function buildDashboard(options?: {
  outDir?: string;
}): Promise<Record<"index.html" | "app.js" | "app.css", number>>;
