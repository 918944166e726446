import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./create-logger.js";

/** A stream that says whether it is a terminal, collecting what is written. */
function output(isTTY: boolean): PassThrough & { isTTY: boolean; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return Object.assign(stream, { text: () => text });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createLogger", () => {
  const saved = process.env.SWITCHYARD_LOG_FORMAT;
  afterEach(() => {
    if (saved === undefined) delete process.env.SWITCHYARD_LOG_FORMAT;
    else process.env.SWITCHYARD_LOG_FORMAT = saved;
  });

  it("writes coloured text to a terminal and JSON lines elsewhere when the format is auto", async () => {
    const terminal = output(true);
    createLogger({ format: "auto", output: terminal }).info({ listener: "web" }, "listening");
    const piped = output(false);
    createLogger({ format: "auto", output: piped }).info({ listener: "web" }, "listening");
    await tick();
    expect(terminal.text()).toContain("\u001b[");
    expect(terminal.text()).toMatch(/INFO.*listening/);
    expect(terminal.text()).toMatch(/listener\S*: "web"/);
    expect(JSON.parse(piped.text())).toMatchObject({ level: 30, msg: "listening", listener: "web" });
  });

  it("writes plain text without colours with format pretty on a pipe", async () => {
    const piped = output(false);
    createLogger({ format: "pretty", output: piped, level: "debug" }).debug("checking");
    await tick();
    expect(piped.text()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: checking\n$/);
  });

  it("takes the format from SWITCHYARD_LOG_FORMAT and refuses one it does not know", async () => {
    process.env.SWITCHYARD_LOG_FORMAT = "json";
    const terminal = output(true);
    createLogger({ output: terminal }).warn("as json");
    await tick();
    expect(JSON.parse(terminal.text())).toMatchObject({ msg: "as json" });
    process.env.SWITCHYARD_LOG_FORMAT = "fancy";
    expect(() => createLogger({ output: terminal })).toThrow(
      /SWITCHYARD_LOG_FORMAT: expected auto, json, pretty/,
    );
  });
});
