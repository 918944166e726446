/**
 * The secret of cookie affinity when the config gives none: random, once per
 * start, so one instance works out of the box (as HAProxy's `cookie SRV insert`
 * does) while instances, and restarts, do not share cookies. The workers of
 * one start share their primary's: it hands it to them in the environment,
 * and the first use removes it from there (commands a worker runs never see it).
 */
import { randomBytes } from "node:crypto";

export const GENERATED_SECRET_ENV = "SWITCHYARD_GENERATED_AFFINITY_SECRET";

let generated: string | undefined;

export function generatedAffinitySecret(): string {
  if (generated === undefined) {
    generated = process.env[GENERATED_SECRET_ENV] || randomBytes(32).toString("base64url");
    delete process.env[GENERATED_SECRET_ENV];
  }
  return generated;
}
