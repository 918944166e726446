import { describe, expect, it } from "vitest";
import { splitAgentCredentials } from "./agent-credentials.js";

describe("splitAgentCredentials", () => {
  it("turns URL credentials into HTTP Basic and removes them from the URL", () => {
    expect(splitAgentCredentials("http://scraper:p%40ss%20word@10.0.0.1:8082/metrics/containers")).toEqual({
      url: "http://10.0.0.1:8082/metrics/containers",
      authorization: `Basic ${Buffer.from("scraper:p@ss word").toString("base64")}`,
    });
    expect(splitAgentCredentials("https://token@agent.example/m").authorization).toBe(
      `Basic ${Buffer.from("token:").toString("base64")}`,
    );
  });

  it("leaves a URL without credentials as it is", () => {
    expect(splitAgentCredentials("http://10.0.0.1:8082/metrics/containers")).toEqual({
      url: "http://10.0.0.1:8082/metrics/containers",
      authorization: undefined,
    });
  });
});
