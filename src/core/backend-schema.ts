/**
 * A backend as a list writes it: the entries of a pool's `backends` in the
 * config file and of a discovery file alike, checked by one schema so both
 * accept and reject the same things. The config adds `agent` on top.
 */
import { z } from "zod";
import { parseAddress } from "./address.js";
import { numberIn } from "./numbers.js";

const ADDRESS_EXPECTED = 'expected a backend address "host:port", "http://host:port" or "https://host:port"';

const backendAddress = () =>
  z.string({ error: ADDRESS_EXPECTED }).superRefine((value, ctx) => {
    try {
      parseAddress(value);
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^invalid address "[^"]*": /, "") : "";
      ctx.addIssue({
        code: "custom",
        message: reason.startsWith("expected") ? reason : `${ADDRESS_EXPECTED} (${reason})`,
      });
    }
  });

export const backendSpecSchema = z.strictObject({
  id: z.string().min(1).optional().describe("the backend's id, unique within the pool; default its address"),
  address: backendAddress().describe('where the backend listens: "host:port" or "http://host:port"'),
  weight: numberIn(0, 10_000)
    .default(1)
    .describe("relative share of traffic, for the algorithms that weigh backends"),
  region: z
    .string()
    .min(1)
    .optional()
    .describe("region name, for the geographical algorithm and per-region counters"),
  latitude: numberIn(-90, 90).optional().describe("latitude in degrees, for the geo algorithms"),
  longitude: numberIn(-180, 180).optional().describe("longitude in degrees, for the geo algorithms"),
  labels: z
    .record(z.string(), z.string())
    .optional()
    .describe("free-form key/value labels kept with the backend"),
  enabled: z.boolean().default(true).describe("false: the backend takes no traffic until enabled again"),
});

export type BackendSpecEntry = z.output<typeof backendSpecSchema>;
