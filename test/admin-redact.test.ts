/** Secret redaction for admin answers: secret-named fields, commands and URL credentials, anywhere. */
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

  it("hides commands and header values named like credentials", () => {
    const config = {
      healthCheck: { type: "command", command: "check --password hunter2", commands: ["a b"] },
      headers: {
        Authorization: "Basic dTpw",
        "Proxy-Authorization": "Bearer x",
        cookie: "sid=1",
        "set-cookie": ["sid=2"],
        "x-auth-token": "t",
        "x-client-secret": "s",
        accept: "application/json",
      },
    };
    expect(redactSecrets(config)).toEqual({
      healthCheck: { type: "command", command: REDACTED, commands: REDACTED },
      headers: {
        Authorization: REDACTED,
        "Proxy-Authorization": REDACTED,
        cookie: REDACTED,
        "set-cookie": REDACTED,
        "x-auth-token": REDACTED,
        "x-client-secret": REDACTED,
        accept: "application/json",
      },
    });
  });

  it("hides the password (or a lone user name) of any URL in any string, by value", () => {
    const redacted = redactSecrets({
      agent: { url: "http://scraper:s3cret@10.0.0.1:8082/metrics" },
      endpoints: ["https://root:pa%40ss@etcd:2379", "http://etcd-2:2379"],
      token: { url: "https://ghp_abc123@example.com/repo" },
      git: "https://ghp_abc123@example.com/repo",
      lastError: "connect to http://u:p@10.0.0.2:1 failed; mail ops@example.com",
    });
    expect(redacted).toEqual({
      agent: { url: "http://scraper:***@10.0.0.1:8082/metrics" },
      endpoints: ["https://root:***@etcd:2379", "http://etcd-2:2379"],
      token: REDACTED,
      git: "https://***@example.com/repo",
      lastError: "connect to http://u:***@10.0.0.2:1 failed; mail ops@example.com",
    });
  });

  it("passes scalars and null through", () => {
    expect(redactSecrets(null)).toBeNull();
    expect(redactSecrets("x")).toBe("x");
    expect(redactSecrets("user@example.com")).toBe("user@example.com");
    expect(redactSecrets(3)).toBe(3);
  });
});
