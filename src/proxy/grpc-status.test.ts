import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, GrpcStatus, grpcKind, grpcStatusFor } from "./grpc-status.js";

describe("grpc-status", () => {
  it("tells gRPC and gRPC-Web requests by their content type", () => {
    expect(grpcKind({ "content-type": "application/grpc" })).toBe("grpc");
    expect(grpcKind({ "content-type": "application/grpc+proto" })).toBe("grpc");
    expect(grpcKind({ "content-type": "Application/GRPC; charset=utf-8" })).toBe("grpc");
    expect(grpcKind({ "content-type": "application/grpc-web+proto" })).toBe("grpc-web");
    expect(grpcKind({ "content-type": "application/grpc-web-text" })).toBe("grpc-web");
    expect(grpcKind({ "content-type": "application/json" })).toBeUndefined();
    expect(grpcKind({})).toBeUndefined();
  });

  it("maps the proxy's HTTP statuses to gRPC statuses", () => {
    expect(grpcStatusFor(503)).toBe(GrpcStatus.UNAVAILABLE);
    expect(grpcStatusFor(502)).toBe(GrpcStatus.UNAVAILABLE);
    expect(grpcStatusFor(504)).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(grpcStatusFor(429)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(grpcStatusFor(413)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(grpcStatusFor(404)).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(grpcStatusFor(400)).toBe(GrpcStatus.INTERNAL);
    expect(grpcStatusFor(500)).toBe(GrpcStatus.INTERNAL);
    expect(grpcStatusFor(418)).toBe(GrpcStatus.UNKNOWN);
  });

  it("percent-encodes a message's UTF-8 bytes outside printable ASCII, and the percent sign", () => {
    expect(encodeGrpcMessage("SY_ERR_NO_BACKEND: no ready backend")).toBe(
      "SY_ERR_NO_BACKEND: no ready backend",
    );
    expect(encodeGrpcMessage("100% sûr\n")).toBe("100%25 s%C3%BBr%0A");
    expect(decodeURIComponent(encodeGrpcMessage("déjà vu ✓ 50%"))).toBe("déjà vu ✓ 50%");
  });
});
