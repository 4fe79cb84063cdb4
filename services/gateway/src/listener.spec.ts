import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Agent, get } from "node:http";
import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createDualProtocolServer, type NodeRequest, type NodeResponse } from "./listener.js";

async function answer(request: NodeRequest, response: NodeResponse) {
  const delayMs = Number(new URL(request.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
  await sleep(delayMs);
  response.end(`HTTP ${request.httpVersion}`);
}

function http1Get(url: string, agent?: Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ body, connection: response.headers.connection }));
    }).on("error", reject);
  });
}

function http2Get(url: string): Promise<string> {
  const session = connectHttp2(url);
  return new Promise<string>((resolve, reject) => {
    const stream = session.request({ ":path": "/" });
    let body = "";
    stream.on("data", (chunk) => {
      body += chunk;
    });
    stream.on("end", () => resolve(body));
    stream.on("error", reject);
  }).finally(() => session.close());
}

/** Writes `bytes` a few at a time, with pauses, and resolves with the first bytes that come back. */
async function trickle(port: number, bytes: Buffer): Promise<Buffer> {
  const socket: Socket = connectTcp(port, "127.0.0.1");
  await once(socket, "connect");
  const reply = once(socket, "data").then(([data]) => data as Buffer);
  for (let offset = 0; offset < bytes.length; offset += 5) {
    socket.write(bytes.subarray(offset, offset + 5));
    await sleep(10);
  }
  const data = await reply;
  socket.destroy();
  return data;
}

describe("dual-protocol listener", () => {
  it("serves HTTP/1.1 and h2c on one port", async (t) => {
    const server = createDualProtocolServer(answer);
    const port = await server.listen(0);
    t.after(() => server.close(0));
    assert.equal((await http1Get(`http://127.0.0.1:${port}/`)).body, "HTTP 1.1");
    assert.equal(await http2Get(`http://127.0.0.1:${port}`), "HTTP 2.0");
  });

  it("tells the protocols apart when the first bytes come a few at a time", async (t) => {
    const server = createDualProtocolServer(answer);
    const port = await server.listen(0);
    t.after(() => server.close(0));
    const emptySettingsFrame = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const preface = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), emptySettingsFrame]);
    const http2Reply = await trickle(port, preface);
    assert.equal(http2Reply[3], 4, "the server's first frame is its SETTINGS");
    const http1Reply = await trickle(
      port,
      Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert.match(http1Reply.toString(), /^HTTP\/1\.1 200 OK/);
  });

  it("survives garbage and resets on either protocol", async (t) => {
    const server = createDualProtocolServer(answer);
    const port = await server.listen(0);
    t.after(() => server.close(0));
    const garbage = [
      Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), randomBytes(256)]),
      Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n"), randomBytes(256)]),
      randomBytes(256),
      Buffer.from("PRI * HT"),
    ];
    for (const bytes of garbage) {
      const socket = connectTcp(port, "127.0.0.1");
      socket.on("error", () => {});
      await once(socket, "connect");
      socket.write(bytes);
      await sleep(20);
      socket.resetAndDestroy();
    }
    await sleep(50);
    assert.equal((await http1Get(`http://127.0.0.1:${port}/`)).body, "HTTP 1.1");
    assert.equal(await http2Get(`http://127.0.0.1:${port}`), "HTTP 2.0");
  });

  it("drops a connection that never says anything", async (t) => {
    const server = createDualProtocolServer(answer, { firstBytesTimeoutMs: 100 });
    const port = await server.listen(0);
    t.after(() => server.close(0));
    const socket = connectTcp(port, "127.0.0.1");
    await once(socket, "close");
  });

  it("sends an idle HTTP/2 connection away, after serving it", async (t) => {
    const server = createDualProtocolServer(answer, { idleSessionTimeoutMs: 300 });
    const port = await server.listen(0);
    t.after(() => server.close(0));
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    t.after(() => session.destroy());
    const closed = once(session, "close");
    const goaway = once(session, "goaway");
    const stream = session.request({ ":path": "/" });
    stream.resume();
    await once(stream, "end");
    const started = performance.now();
    await Promise.all([goaway, closed]);
    assert.ok(performance.now() - started < 5_000);
  });

  it("closes after the requests in flight, asking HTTP/1.1 clients not to reuse the connection", async () => {
    const server = createDualProtocolServer(answer);
    const port = await server.listen(0);
    const agent = new Agent({ keepAlive: true });
    assert.equal((await http1Get(`http://127.0.0.1:${port}/`, agent)).connection, "keep-alive");
    const inFlight = http1Get(`http://127.0.0.1:${port}/?delay=300`, agent);
    await sleep(50);
    const closing = server.close(5_000);
    const { body, connection } = await inFlight;
    assert.equal(body, "HTTP 1.1");
    assert.equal(connection, "close");
    assert.equal(await closing, true, "everything finished within the grace period");
    await assert.rejects(http1Get(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
    agent.destroy();
  });
});
