/**
 * The edge under abuse: many idle connections (HTTP/1.1 and HTTP/2), connections that send their headers a
 * byte at a time, oversized headers and bodies, and a burst from one address far over its rate limit. Beside
 * each, a well-behaved caller from another address keeps calling; every one of its calls must succeed. Its
 * latency is measured before and during each abuse and printed (not asserted: machines differ too much).
 */
import * as assert from "node:assert/strict";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toJsonString } from "@bufbuild/protobuf";
import { CatalogService, GetTourRequestSchema } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { type Stack, startStack } from "@tourmesh/stack";
import { type RawCaller, rawCaller } from "@tourmesh/stack/testing";

const GET_TOUR = `/${CatalogService.typeName}/${CatalogService.method.getTour.name}`;
const ABUSER_ADDRESS = "198.51.100.66";

const percentile = (values: readonly number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

describe("the edge under abuse", () => {
  let stack: Stack;
  let caller: RawCaller;
  let host: string;
  let port: number;
  let tourId: string;
  const latencies: Array<[string, number[]]> = [];

  /**
   * 20 calls, one after another, of a well-behaved caller with an address of its own (so that its calls stay
   * within its own rate limit whatever the phases before did); all must succeed. Records their latencies.
   */
  async function normalCalls(phase: string): Promise<void> {
    const address = `203.0.113.${latencies.length + 1}`;
    const body = new TextEncoder().encode(
      toJsonString(GetTourRequestSchema, create(GetTourRequestSchema, { tourId })),
    );
    const taken: number[] = [];
    for (let call = 0; call < 20; call++) {
      const started = performance.now();
      const answer = await caller.call("connect-json", GET_TOUR, body, {
        headers: { "x-forwarded-for": address },
        timeoutMs: 15_000,
      });
      taken.push(performance.now() - started);
      assert.equal(answer.code, "OK", `${phase}: ${answer.code} ${answer.message}`);
    }
    latencies.push([phase, taken]);
  }

  before(async () => {
    stack = await startStack({
      services: ["catalog", "identity", "gateway"],
      prefix: "abuse",
      // One trusted proxy hop, so that the test's callers have addresses of their own; a per-address limit
      // that one flooding client can exceed on a slow machine, and that 20 calls in a row stay within.
      env: {
        gateway: {
          TRUSTED_PROXY_HOPS: "1",
          RATE_LIMIT_PER_IP_RPS: "10",
          RATE_LIMIT_PER_IP_BURST: "20",
        },
      },
    });
    const gateway = new URL(stack.gatewayUrl);
    host = gateway.hostname;
    port = Number(gateway.port);
    caller = rawCaller(stack.address("gateway"));
    const [tour] = await stack.query<{ tour_id: string }>("catalog", "SELECT tour_id FROM tours LIMIT 1");
    tourId = tour?.tour_id ?? "";
    await normalCalls("before any abuse");
  });

  after(async (t) => {
    for (const [phase, taken] of latencies) {
      t.diagnostic(
        `${phase}: median ${percentile(taken, 0.5).toFixed(1)} ms, p95 ${percentile(taken, 0.95).toFixed(1)} ms`,
      );
    }
    caller?.close();
    await stack?.stop();
  });

  it("serves other callers while 400 HTTP/1.1 and 100 HTTP/2 connections sit idle", async () => {
    const sockets: Socket[] = [];
    const sessions: ClientHttp2Session[] = [];
    try {
      for (let index = 0; index < 400; index++) {
        const socket = connectTcp(port, host);
        socket.on("error", () => {});
        sockets.push(socket);
      }
      for (let index = 0; index < 100; index++) {
        const session = connectHttp2(`http://${host}:${port}`);
        session.on("error", () => {});
        sessions.push(session);
      }
      await sleep(500);
      await normalCalls("beside 500 idle connections");
    } finally {
      for (const socket of sockets) socket.destroy();
      for (const session of sessions) session.destroy();
    }
  });

  it("serves other callers while 200 connections send their headers a byte a second", async () => {
    const sockets: Socket[] = [];
    const drip = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write("x");
    }, 1_000);
    try {
      for (let index = 0; index < 200; index++) {
        const socket = connectTcp(port, host, () =>
          socket.write(`POST ${GET_TOUR} HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `),
        );
        socket.on("error", () => {});
        sockets.push(socket);
      }
      await sleep(1_000);
      await normalCalls("beside 200 slow-header connections");
    } finally {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    }
  });

  it("refuses oversized headers and bodies with a 4xx, and serves other callers meanwhile", async () => {
    /**
     * The status line the gateway answers a raw HTTP/1.1 request with. The gateway may answer and close before
     * it has read everything sent (it refuses a body by its Content-Length): a failed write is expected.
     */
    const statusLineOf = (head: string, body: Uint8Array = new Uint8Array()): Promise<string> =>
      new Promise((resolve) => {
        const socket = connectTcp(port, host, () => {
          socket.write(head);
          socket.write(body);
        });
        let answer = "";
        socket.on("data", (chunk: Buffer) => {
          answer += chunk.toString("latin1");
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
      });
    const request = (headers: string) =>
      `POST ${GET_TOUR} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Connect-Protocol-Version: 1\r\nX-Forwarded-For: ${ABUSER_ADDRESS}\r\nConnection: close\r\n${headers}\r\n`;
    const oversizedHeader = () =>
      statusLineOf(request(`X-Big: ${"a".repeat(64 * 1024)}\r\nContent-Length: 2\r\n`), Buffer.from("{}"));
    const bodyBytes = 4 * 1024 * 1024;
    // Declared too large: refused by its Content-Length before any of it is read.
    const declaredBody = () => statusLineOf(request(`Content-Length: ${bodyBytes}\r\n`));
    // Sent too large, chunked: refused once the gateway has read its limit. It may close the connection while
    // the rest is still being sent, and the reset can then overtake its answer: no answer is an answer too.
    const streamedBody = () =>
      statusLineOf(
        request("Transfer-Encoding: chunked\r\n"),
        Buffer.concat([
          Buffer.from(`${bodyBytes.toString(16)}\r\n`),
          Buffer.alloc(bodyBytes, 0x20),
          Buffer.from("\r\n0\r\n\r\n"),
        ]),
      );
    const abuse = Promise.all([
      Promise.all(Array.from({ length: 20 }, oversizedHeader)),
      Promise.all(Array.from({ length: 5 }, declaredBody)),
      Promise.all(Array.from({ length: 5 }, streamedBody)),
    ]);
    await normalCalls("beside oversized headers and bodies");
    const [headerAnswers, declaredAnswers, streamedAnswers] = await abuse;
    for (const statusLine of headerAnswers) assert.match(statusLine, /^HTTP\/1\.1 431 /);
    // RESOURCE_EXHAUSTED, which the Connect protocol sends as HTTP 429.
    for (const statusLine of declaredAnswers) assert.match(statusLine, /^HTTP\/1\.1 429 /);
    for (const statusLine of streamedAnswers) assert.match(statusLine, /^(HTTP\/1\.1 429 |$)/);
  });

  it("throttles a burst far over one address's rate limit, and serves other addresses meanwhile", async (t) => {
    const body = new TextEncoder().encode("{}");
    const outcomes = new Map<string, number>();
    let stop = false;
    const flood = async () => {
      while (!stop) {
        const answer = await caller
          .call("connect-json", `/${CatalogService.typeName}/ListTours`, body, {
            headers: { "x-forwarded-for": ABUSER_ADDRESS },
          })
          .catch(() => ({ code: "NO_ANSWER_IN_TIME" }));
        outcomes.set(answer.code, (outcomes.get(answer.code) ?? 0) + 1);
      }
    };
    const flooders = Array.from({ length: 16 }, flood);
    await sleep(1_000);
    try {
      await normalCalls("beside a burst over the rate limit");
    } finally {
      stop = true;
      await Promise.all(flooders);
    }
    t.diagnostic(`the flooding address: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok((outcomes.get("RESOURCE_EXHAUSTED") ?? 0) > 0, JSON.stringify([...outcomes]));
    // The flooder may also wait in vain on a busy machine (its own client is busy too); never a server fault.
    assert.deepEqual(
      [...outcomes.keys()].filter(
        (code) => !["OK", "RESOURCE_EXHAUSTED", "NO_ANSWER_IN_TIME"].includes(code),
      ),
      [],
      JSON.stringify([...outcomes]),
    );
  });

  it("logged no error and restarted nothing", () => {
    assert.deepEqual(stack.errorLogs(), []);
    for (const service of stack.processes.values()) assert.equal(service.restarts(), 0);
  });
});
