import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import { createServer as createTcpServer, type Socket } from "node:net";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** What every HTTP/2 client sends first, before any frame (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface DualProtocolServer {
  /** Binds the port (0 picks a free one) and returns it. */
  listen(port: number): Promise<number>;
  /**
   * Stops taking connections; HTTP/2 clients get GOAWAY and HTTP/1.1 responses `connection: close`, while
   * the requests in flight get up to `graceMs` to finish. Then every connection is closed. Resolves true
   * when everything finished in time.
   */
  close(graceMs: number): Promise<boolean>;
}

/**
 * HTTP/1.1 and h2c (HTTP/2 over plain TCP, prior knowledge, as gRPC clients speak it) on one port, both
 * answered by `handler`.
 *
 * Node cannot do this with one server: `http2.createServer({ allowHTTP1: true })` honours allowHTTP1 only
 * over TLS, where ALPN picks the protocol; in plain text it answers an HTTP/1.1 request with HTTP/2 frames
 * (curl reports "HTTP/0.9"). So a TCP server reads each connection's first bytes: the HTTP/2 client preface
 * hands the socket to an http2 server, anything else to an http server. The bytes read are put back with
 * `unshift`; both servers read a socket's buffered bytes before its later traffic. A connection that says
 * nothing for `firstBytesTimeoutMs` is dropped; an HTTP/2 one idle for `idleSessionTimeoutMs` is sent away.
 */
export function createDualProtocolServer(
  handler: (request: NodeRequest, response: NodeResponse) => void,
  { firstBytesTimeoutMs = 10_000, idleSessionTimeoutMs = 120_000 } = {},
): DualProtocolServer {
  const sockets = new Set<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  const inFlight = new Set<NodeResponse>();
  let onIdle: (() => void) | undefined;
  let closing = false;
  const noKeepAlive = (response: NodeResponse) => {
    if (response.req.httpVersionMajor === 1 && !response.headersSent)
      response.setHeader("connection", "close");
  };

  const serve = (request: NodeRequest, response: NodeResponse) => {
    inFlight.add(response);
    response.once("close", () => {
      inFlight.delete(response);
      if (inFlight.size === 0) onIdle?.();
    });
    if (closing) noKeepAlive(response);
    handler(request, response);
  };
  const http1 = createHttp1Server(serve);
  const http2 = createHttp2Server({}, serve);
  // An HTTP/2 connection with nothing going on is asked to go away (GOAWAY, then closed) after a while, so that
  // idle clients cannot hold sockets and sessions forever; HTTP/1.1 has keepAliveTimeout for that. Longer than
  // any call's deadline, and well-behaved clients reconnect when they have something to send.
  http2.setTimeout(idleSessionTimeoutMs);
  http2.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  // Until a server owns the socket, its errors (a reset) are ours to swallow, or they would crash the process.
  const ignore = () => {};
  function route(socket: Socket, seen: Buffer): void {
    const chunk = socket.read() as Buffer | null;
    const data = chunk === null ? seen : Buffer.concat([seen, chunk]);
    const compared = Math.min(data.length, HTTP2_PREFACE.length);
    const maybeHttp2 = data.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (maybeHttp2 && data.length < HTTP2_PREFACE.length) {
      socket.once("readable", () => route(socket, data));
      return;
    }
    socket.setTimeout(0);
    socket.off("error", ignore);
    socket.unshift(data);
    (maybeHttp2 ? http2 : http1).emit("connection", socket);
  }

  const tcp = createTcpServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", ignore);
    // A connection that never says anything is dropped instead of holding a socket forever.
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
    socket.once("readable", () => route(socket, Buffer.alloc(0)));
  });

  return {
    listen: (port) =>
      new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, "0.0.0.0", () => resolve((tcp.address() as { port: number }).port));
      }),
    async close(graceMs) {
      closing = true;
      for (const response of inFlight) noKeepAlive(response);
      const closed = new Promise((resolve) => tcp.close(resolve));
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      const finished =
        inFlight.size === 0 ||
        (await Promise.race([
          new Promise<true>((resolve) => {
            onIdle = () => resolve(true);
          }),
          new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), graceMs);
          }),
        ]));
      clearTimeout(timer);
      // Left now: idle HTTP/1.1 keep-alive connections, or (after the grace period) the stragglers.
      for (const socket of sockets) socket.destroy();
      await closed;
      return finished;
    },
  };
}
