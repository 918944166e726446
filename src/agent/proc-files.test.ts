import { describe, expect, it } from "vitest";
import {
  parseCpuMax,
  parseKbField,
  parseKeyedValue,
  parseMemoryMax,
  parseNetDev,
  parseProcStat,
  readText,
} from "./proc-files.js";

describe("proc and cgroup file parsers", () => {
  it("sums every interface but loopback in net/dev", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0",
      "  eth0: 1200       3    0    0    0     0          0         0      800       2    0    0    0     0       0          0",
      "  eth1:   34       1    0    0    0     0          0         0       66       1    0    0    0     0       0          0",
    ].join("\n");
    expect(parseNetDev(text)).toEqual({ rx: 1234, tx: 866 });
    expect(parseNetDev("garbage")).toBeUndefined();
  });

  it("reads utime + stime and the start time of /proc/PID/stat, whatever the command name holds", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    // Fields are numbered from 3 after the command: utime = 14, stime = 15, starttime = 22.
    const text = `4242 (a (weird) name) ${fields.join(" ")}`;
    expect(parseProcStat(text)).toEqual({ comm: "a (weird) name", cpuTicks: 14 + 15, startTicks: 22 });
    expect(parseProcStat("4242 no parens")).toBeUndefined();
  });

  it("reads kB fields, keyed values and limits", () => {
    expect(parseKbField("Name:\tnode\nVmRSS:\t  2048 kB\nThreads: 7\n", "VmRSS")).toBe(2048 * 1024);
    expect(parseKbField("MemTotal:       8000000 kB", "MemTotal")).toBe(8_000_000 * 1024);
    expect(parseKbField("Name: x", "VmRSS")).toBeUndefined();
    expect(parseKeyedValue("usage_usec 123456\nuser_usec 100\n", "usage_usec")).toBe(123456);
    expect(parseKeyedValue("user_usec 100\n", "usage_usec")).toBeUndefined();
    expect(parseCpuMax("max 100000\n")).toBeUndefined();
    expect(parseCpuMax("50000 100000\n")).toBe(0.5);
    expect(parseMemoryMax("max\n")).toBeUndefined();
    expect(parseMemoryMax("1073741824\n")).toBe(1073741824);
  });

  it("never throws on a file that cannot be read", () => {
    expect(readText("/proc/999999999/stat")).toBeUndefined();
  });
});
