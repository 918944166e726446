/** The admin API: re-exports only. */
export { type AdminErrorCode, AdminErrorCodes } from "./admin-errors.js";
export {
  AdminServer,
  type AdminServerOptions,
  DEFAULT_ADMIN_CLOSE_GRACE_MS,
  DEFAULT_ADMIN_HOST,
  DEFAULT_ADMIN_PORT,
} from "./admin-server.js";
export type { CorsOptions } from "./cors.js";
export { REDACTED, redactSecrets } from "./redact.js";
