/** Package root: the library API (seed 000's embeddable engine). */
import "./algorithms/builtin.js";

export * from "./algorithms/registry.js";
export * from "./core/address.js";
export * from "./core/backend.js";
export * from "./core/balancer.js";
export * from "./core/context.js";
export * from "./core/decision.js";
export * from "./core/errors.js";
export * from "./core/pool.js";
export * from "./core/random.js";
export * from "./core/selector.js";
