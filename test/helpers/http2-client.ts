/**
 * A node:http2 client request for tests: sends one request (with a body and
 * trailer fields when given) on a session and resolves with everything a
 * test may assert on, including whether the head alone ended the stream.
 */
import http2 from "node:http2";

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  /** The response's HEADERS frame ended the stream (no body, no trailers: gRPC's Trailers-Only). */
  endedWithHead: boolean;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
}

/** Sends a request on `session`; rejects when the stream fails, and cancels it after 10 s. */
export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, {
      endStream: body === undefined && trailers === undefined,
      waitForTrailers: trailers !== undefined,
    });
    const chunks: Buffer[] = [];
    const response: H2Response = {
      status: 0,
      headers: {},
      endedWithHead: false,
      trailers: undefined,
      body: Buffer.alloc(0),
    };
    if (trailers !== undefined) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    stream.on("response", (received, flags) => {
      response.status = Number(received[":status"]);
      response.headers = received;
      response.endedWithHead = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on("trailers", (received) => {
      response.trailers = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => resolve({ ...response, body: Buffer.concat(chunks) }));
    stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    if (body !== undefined) stream.end(body);
    else if (trailers !== undefined) stream.end();
  });
}
