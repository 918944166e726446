/** The admin API: where it listens, its write token, the hosts and browser origins it answers. */
import { z } from "zod";
import { listenString } from "./fields.js";

export const DEFAULT_ADMIN_LISTEN = "127.0.0.1:9090";

const ALLOWED_HOST_EXPECTED = 'expected a host name (letters, digits, ".", "-", "_"), an IP address or "*"';

export const adminSchema = z.strictObject({
  listen: listenString().default(DEFAULT_ADMIN_LISTEN).describe('"host:port" the admin API listens on'),
  token: z
    .string()
    .min(1)
    .optional()
    .describe("bearer token that admin writes need; without one, writes are refused"),
  allowedHosts: z
    .array(
      z
        .string({ error: ALLOWED_HOST_EXPECTED })
        .regex(/^(?:\*|[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])$/, { error: ALLOWED_HOST_EXPECTED }),
    )
    .optional()
    .describe(
      'host names the admin API answers besides localhost, IP addresses and its listen host (DNS rebinding guard); "*": any',
    ),
  cors: z
    .strictObject({
      origins: z
        .array(z.string().min(1))
        .min(1)
        .describe('origins allowed ("https://ops.example.com"), or "*" for any'),
    })
    .optional()
    .describe("CORS: browser pages on these origins may call the admin API"),
});
