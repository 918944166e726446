/** Field schemas several config sections share: names, listen addresses, PEM file paths. */
import { z } from "zod";

/** A listening address: `host:port` or `[v6]:port`, port 0 to 65535 (0 lets the OS choose). */
export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]*)):(\d{1,5})$/;

/** Parses a listen string; returns undefined when it is not `host:port` with a port from 0 to 65535. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = LISTEN_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NAME_EXPECTED = "a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)";

export const name = () =>
  z.string({ error: `expected ${NAME_EXPECTED}` }).regex(NAME_PATTERN, `expected ${NAME_EXPECTED}`);

export const listenString = () =>
  z.string({ error: 'expected a listen address "host:port"' }).superRefine((value, ctx) => {
    if (!parseListenAddress(value)) {
      ctx.addIssue({
        code: "custom",
        message: 'expected a listen address "host:port" (or "[v6]:port") with a port from 0 to 65535',
      });
    }
  });

export const pemFile = (what: string) =>
  z.string({ error: `expected the path of a PEM ${what} file` }).min(1);
