/**
 * A load client's unary gRPC calls, straight on node:http2: a request is one POST carrying the length-prefixed
 * message, an answer is its length-prefixed message and `grpc-status` 0 in the trailers (or, for a failure
 * without a body, in the headers). Nothing else of gRPC: no retries, no name resolution, no decoding of the
 * answer. A benchmark whose load client shares the machine's cores with the server it measures uses it
 * because it spends about half the CPU per call of @grpc/grpc-js's client; for anything else use the platform's
 * createClient.
 */
import * as http2 from "node:http2";
import * as net from "node:net";

/** The gRPC length prefix: a compression flag byte (0: not compressed), then the length, big-endian. */
const PREFIX_BYTES = 5;

export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`gRPC status ${code}: ${message}`);
  }
}

export class H2GrpcClient {
  private readonly session: http2.ClientHttp2Session;

  constructor(address: string) {
    const url = new URL(`http://${address}`);
    this.session = http2.connect(url, {
      // Each call's frames go out at once, as grpc-js's client sends them (no Nagle delay).
      createConnection: () => net.connect({ host: url.hostname, port: Number(url.port), noDelay: true }),
    });
    // A refused or broken connection fails the calls on it; it must not also crash the process.
    this.session.on("error", () => undefined);
  }

  /** Calls `path` (e.g. "/pkg.Service/Method") with an encoded request; resolves to the encoded answer. */
  call(path: string, request: Uint8Array, timeoutMs = 5_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": `${timeoutMs}m`,
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = "";
      const statusOf = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] === undefined) return;
        status = String(headers["grpc-status"]);
        message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
      };
      stream.on("response", statusOf);
      stream.on("trailers", statusOf);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => {
        if (status === undefined) return reject(new GrpcCallError(2, "the call ended without a status"));
        if (status !== "0") return reject(new GrpcCallError(Number(status), message));
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (
          body.length < PREFIX_BYTES ||
          body[0] !== 0 ||
          body.readUInt32BE(1) !== body.length - PREFIX_BYTES
        )
          return reject(new GrpcCallError(13, "the answer is not one uncompressed message"));
        resolve(body.subarray(PREFIX_BYTES));
      });
      const frame = Buffer.allocUnsafe(PREFIX_BYTES + request.byteLength);
      frame[0] = 0;
      frame.writeUInt32BE(request.byteLength, 1);
      frame.set(request, PREFIX_BYTES);
      stream.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }
}
