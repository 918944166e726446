export type { BackendPoolOptions } from "./backend-pools.js";
export * from "./balanced-dispatcher.js";
export {
  DEFAULT_MAX_RETRIES,
  ServiceClient,
  type ServiceOptions,
  type ServiceStats,
} from "./service-client.js";
