/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a
 * header a proxy sends first on a TCP connection, giving the addresses of the
 * connection it relays, so the next hop sees the real client and not the
 * proxy. Read strictly: a header that does not follow the spec to the byte
 * is refused, as HAProxy and NGINX refuse it, since a lenient reading would
 * let a client choose the address it is judged by.
 */
import net from "node:net";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import { parseIpInto } from "../geo/cidr.js";

export const PROXY_PROTOCOL_VERSIONS = ["v1", "v2"] as const;
export type ProxyProtocolVersion = (typeof PROXY_PROTOCOL_VERSIONS)[number];

/** The two ends of a relayed TCP connection, as the first proxy saw them. */
export interface ProxiedConnection {
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
}

export type ProxyHeaderRead =
  /** More bytes are needed to tell. */
  | { status: "incomplete" }
  /**
   * A whole header of `length` bytes. `connection` is undefined for a header
   * that carries no addresses (v1 UNKNOWN, v2 LOCAL or a family other than
   * TCP over IPv4/IPv6): the connection's own addresses stand.
   */
  | { status: "done"; length: number; connection: ProxiedConnection | undefined }
  | { status: "invalid"; reason: string };

/** A v1 line is at most 107 bytes with its CRLF (the spec's worst case, TCP6 with full addresses). */
const V1_MAX_BYTES = 107;
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
/**
 * Largest v2 header taken: addresses and TLVs (TLS details, a cloud's
 * endpoint id) fit many times over; HAProxy bounds it by its 16 KiB buffer.
 */
export const PROXY_V2_MAX_BYTES = 16_384;

const V2_COMMAND_LOCAL = 0x20;
const V2_COMMAND_PROXY = 0x21;
const V2_TCP_OVER_IPV4 = 0x11;
const V2_TCP_OVER_IPV6 = 0x21;
const V2_IPV4_BYTES = 12;
const V2_IPV6_BYTES = 36;

const noSuchHeader = (reason: string): ProxyHeaderRead => ({ status: "invalid", reason });
const INCOMPLETE: ProxyHeaderRead = { status: "incomplete" };

/** Reads the PROXY header at the start of `bytes`, the first bytes a connection sent. */
export function readProxyHeader(bytes: Buffer): ProxyHeaderRead {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V2_SIGNATURE[0]) return readV2(bytes);
  if (bytes[0] === V1_PREFIX[0]) return readV1(bytes);
  return noSuchHeader("the connection did not start with a PROXY protocol header");
}

function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const length = Math.min(bytes.length, prefix.length);
  return bytes.compare(prefix, 0, length, 0, length) === 0;
}

function readV1(bytes: Buffer): ProxyHeaderRead {
  if (!startsLike(bytes, V1_PREFIX))
    return noSuchHeader("the connection did not start with a PROXY protocol header");
  const end = bytes.indexOf("\r\n", 0, "latin1");
  if (end === -1) {
    return bytes.length < V1_MAX_BYTES
      ? INCOMPLETE
      : noSuchHeader(`PROXY v1 line longer than ${V1_MAX_BYTES} bytes`);
  }
  if (end + 2 > V1_MAX_BYTES) return noSuchHeader(`PROXY v1 line longer than ${V1_MAX_BYTES} bytes`);
  const fields = bytes.toString("latin1", V1_PREFIX.length, end).split(" ");
  const length = end + 2;
  if (fields[0] === "UNKNOWN") return { status: "done", length, connection: undefined };
  const family = fields[0] === "TCP4" ? 4 : fields[0] === "TCP6" ? 6 : 0;
  if (family === 0) return noSuchHeader(`PROXY v1 protocol "${fields[0]}" is not TCP4, TCP6 or UNKNOWN`);
  if (fields.length !== 5) return noSuchHeader("PROXY v1 line is not: protocol, two addresses, two ports");
  const [, sourceAddress = "", destinationAddress = "", sourcePort = "", destinationPort = ""] = fields;
  // A zone (`fe80::1%eth0`) names an interface of the sender's host, not an address.
  if (!isAddress(sourceAddress, family) || !isAddress(destinationAddress, family)) {
    return noSuchHeader(`PROXY v1 addresses are not both IPv${family}`);
  }
  const ports = [v1Port(sourcePort), v1Port(destinationPort)];
  if (ports[0] === undefined || ports[1] === undefined)
    return noSuchHeader("PROXY v1 port is not 0 to 65535");
  const spelled = family === 6 ? canonicalIpv6 : (address: string) => address;
  return {
    status: "done",
    length,
    connection: {
      sourceAddress: spelled(sourceAddress),
      sourcePort: ports[0],
      destinationAddress: spelled(destinationAddress),
      destinationPort: ports[1],
    },
  };
}

function isAddress(text: string, family: 4 | 6): boolean {
  return net.isIP(text) === family && !text.includes("%");
}

/** A decimal port without a sign or leading zeros, as the spec writes them. */
function v1Port(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

function readV2(bytes: Buffer): ProxyHeaderRead {
  if (!startsLike(bytes, V2_SIGNATURE))
    return noSuchHeader("the connection did not start with a PROXY protocol header");
  if (bytes.length < V2_FIXED_BYTES) return INCOMPLETE;
  const command = bytes[12] as number;
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
    return noSuchHeader(`PROXY v2 version and command byte 0x${command.toString(16)} is not 0x20 or 0x21`);
  }
  const length = V2_FIXED_BYTES + bytes.readUInt16BE(14);
  if (length > PROXY_V2_MAX_BYTES)
    return noSuchHeader(`PROXY v2 header longer than ${PROXY_V2_MAX_BYTES} bytes`);
  const family = bytes[13] as number;
  const addressBytes =
    family === V2_TCP_OVER_IPV4 ? V2_IPV4_BYTES : family === V2_TCP_OVER_IPV6 ? V2_IPV6_BYTES : 0;
  if (length - V2_FIXED_BYTES < addressBytes)
    return noSuchHeader("PROXY v2 length is shorter than its addresses");
  if (bytes.length < length) return INCOMPLETE;
  // LOCAL is the sending proxy's own connection (its health checks); other families carry nothing we route on.
  if (command === V2_COMMAND_LOCAL || addressBytes === 0)
    return { status: "done", length, connection: undefined };
  const at = V2_FIXED_BYTES;
  const connection =
    family === V2_TCP_OVER_IPV4
      ? {
          sourceAddress: ipv4At(bytes, at),
          destinationAddress: ipv4At(bytes, at + 4),
          sourcePort: bytes.readUInt16BE(at + 8),
          destinationPort: bytes.readUInt16BE(at + 10),
        }
      : {
          sourceAddress: ipv6At(bytes, at),
          destinationAddress: ipv6At(bytes, at + 16),
          sourcePort: bytes.readUInt16BE(at + 32),
          destinationPort: bytes.readUInt16BE(at + 34),
        };
  return { status: "done", length, connection };
}

function ipv4At(bytes: Buffer, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function ipv6At(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  return canonicalIpv6(groups.join(":"));
}

/** In the form Node reports peers in (compressed, lower case), so logs and hashing see one spelling. */
function canonicalIpv6(address: string): string {
  return new net.SocketAddress({ address, family: "ipv6" }).address;
}

/**
 * The header announcing `connection`, for a backend that expects one. Both
 * ends go in one family: IPv4 when both are (IPv4-mapped ones included),
 * otherwise IPv6 with an IPv4 end mapped into it.
 */
export function encodeProxyHeader(version: ProxyProtocolVersion, connection: ProxiedConnection): Buffer {
  let source = unmapIpv4(connection.sourceAddress);
  let destination = unmapIpv4(connection.destinationAddress);
  const ipv4 = net.isIPv4(source) && net.isIPv4(destination);
  if (!ipv4 && version === "v1") {
    if (net.isIPv4(source)) source = `::ffff:${source}`;
    if (net.isIPv4(destination)) destination = `::ffff:${destination}`;
  }
  const { sourcePort, destinationPort } = connection;
  if (version === "v1") {
    const line = `PROXY ${ipv4 ? "TCP4" : "TCP6"} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`;
    return Buffer.from(line, "latin1");
  }
  const addressBytes = ipv4 ? V2_IPV4_BYTES : V2_IPV6_BYTES;
  const header = Buffer.alloc(V2_FIXED_BYTES + addressBytes);
  V2_SIGNATURE.copy(header, 0);
  header[12] = V2_COMMAND_PROXY;
  header[13] = ipv4 ? V2_TCP_OVER_IPV4 : V2_TCP_OVER_IPV6;
  header.writeUInt16BE(addressBytes, 14);
  const addressLength = ipv4 ? 4 : 16;
  writeAddresses(header, V2_FIXED_BYTES, [source, destination], ipv4);
  header.writeUInt16BE(sourcePort, V2_FIXED_BYTES + 2 * addressLength);
  header.writeUInt16BE(destinationPort, V2_FIXED_BYTES + 2 * addressLength + 2);
  return header;
}

/** Writes both ends' addresses at `at`: 4 bytes each for IPv4, 16 for IPv6. */
function writeAddresses(into: Buffer, at: number, addresses: readonly string[], ipv4: boolean): void {
  const words = new Uint32Array(4);
  let offset = at;
  for (const address of addresses) {
    parseIpInto(address, words);
    // IPv4 comes back in its mapped form: the address is the last word.
    for (let i = ipv4 ? 3 : 0; i < 4; i++, offset += 4) into.writeUInt32BE(words[i] as number, offset);
  }
}
