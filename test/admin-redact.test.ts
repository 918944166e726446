/** Secret redaction for `/api/config`: secret-named fields anywhere, nothing else. */
import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "../src/admin/redact.js";

describe("redactSecrets", () => {
  it("hides secret-named fields at any depth, arrays included, and copies the rest", () => {
    const config = {
      admin: { listen: "127.0.0.1:9090", token: "t0k" },
      providers: [{ etcd: { hosts: ["a:2379"], password: "pw", apiKey: "k", api_key: "k2" } }],
      tokenBucket: { rate: 5 },
      pools: { web: { backends: [{ address: "127.0.0.1:1", labels: { secret: "s" } }] } },
      absent: { token: undefined, credentials: null },
    };
    const redacted = redactSecrets(config);
    expect(redacted).toEqual({
      admin: { listen: "127.0.0.1:9090", token: REDACTED },
      providers: [{ etcd: { hosts: ["a:2379"], password: REDACTED, apiKey: REDACTED, api_key: REDACTED } }],
      tokenBucket: { rate: 5 },
      pools: { web: { backends: [{ address: "127.0.0.1:1", labels: { secret: REDACTED } }] } },
      absent: { token: undefined, credentials: null },
    });
    expect(redacted).not.toBe(config);
    expect(config.admin.token).toBe("t0k");
  });

  it("passes scalars and null through", () => {
    expect(redactSecrets(null)).toBeNull();
    expect(redactSecrets("x")).toBe("x");
    expect(redactSecrets(3)).toBe(3);
  });
});
