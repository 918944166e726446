/**
 * A real DNS server (dns2, over UDP on 127.0.0.1, port chosen by the OS)
 * answering from a zone the test may change while it runs: A, AAAA and SRV
 * records per name, all with the zone's TTL. A name the zone does not hold is
 * NXDOMAIN; a name without records of the asked type is an empty answer
 * (NODATA).
 */
import type { AddressInfo } from "node:net";
import dns2 from "dns2";

export interface SrvRecord {
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface ZoneName {
  a?: string[];
  aaaa?: string[];
  srv?: SrvRecord[];
}

export interface TestDns {
  /** `127.0.0.1:port`, for a resolver's `servers`. */
  server: string;
  /** Names → records; edit it to change the answers. */
  zone: Record<string, ZoneName>;
  /** TTL of every record, seconds. */
  ttl: number;
  /** Stops answering; safe to call again. */
  close(): Promise<void>;
}

export async function startDns(zone: Record<string, ZoneName>, ttl = 1): Promise<TestDns> {
  const { Packet } = dns2;
  const dns: Omit<TestDns, "server" | "close"> = { zone, ttl };
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      const name = question === undefined ? undefined : dns.zone[question.name];
      if (question === undefined || name === undefined) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
        send(response);
        return;
      }
      const base = { name: question.name, type: question.type, class: Packet.CLASS.IN, ttl: dns.ttl };
      const records =
        question.type === Packet.TYPE.A
          ? (name.a ?? []).map((address) => ({ ...base, address }))
          : question.type === Packet.TYPE.AAAA
            ? (name.aaaa ?? []).map((address) => ({ ...base, address }))
            : question.type === Packet.TYPE.SRV
              ? (name.srv ?? []).map((srv) => ({ priority: 0, weight: 0, ...base, ...srv }))
              : [];
      // dns2's types ask for a packet class; its encoder takes plain records (its README does this).
      for (const record of records)
        response.answers.push(record as unknown as (typeof response.answers)[number]);
      send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: "127.0.0.1" } });
  const { port } = server.addresses().udp as AddressInfo;
  let closed: Promise<void> | undefined;
  // Idempotent: a test may stop the server before its cleanup does.
  const close = () => (closed ??= server.close());
  return Object.assign(dns, { server: `127.0.0.1:${port}`, close });
}
