/**
 * The API reference against the gateway: the same methods, the same access, and requests shaped as the
 * reference shows them (its example, as a POST body and as Connect GET's query) routed by the gateway's own
 * forwarding to the right internal method. The internal services are stand-ins that record what reaches them.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, type DescMessage, type JsonValue, toJson } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type ForwardingClient, routeExposedServices } from "./forwarding.js";
import { accessByProcedure, type ExposedService, exposedServices } from "./public-api.js";

interface Operation {
  security: Array<Record<string, string[]>>;
  requestBody?: { content: { "application/json": { example: JsonValue } } };
}
interface ApiReference {
  paths: Record<string, { post?: Operation; get?: Operation }>;
}

const reference = JSON.parse(
  readFileSync(new URL("../../../gen/openapi/tourmesh.openapi.json", import.meta.url), "utf8"),
) as ApiReference;

describe("the API reference (gen/openapi/tourmesh.openapi.json)", () => {
  /** The JSON of each request that reached a stand-in, by procedure. */
  const received = new Map<string, JsonValue>();
  let server: Server;
  let baseUrl: string;

  before(async () => {
    const standIn = ({ service }: ExposedService): ForwardingClient =>
      Object.fromEntries(
        service.methods.map((method) => [
          method.localName,
          async (request) => {
            received.set(`/${service.typeName}/${method.name}`, toJson(method.input as DescMessage, request));
            return create(method.output);
          },
        ]),
      );
    const handler = connectNodeAdapter({
      routes: (router) =>
        routeExposedServices(router, exposedServices, standIn, { defaultMs: 5_000, maxMs: 5_000 }),
    });
    server = createServer(handler);
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((closed) => server.close(() => closed())));

  it("documents exactly the methods the gateway exposes", () => {
    assert.deepEqual(
      Object.keys(reference.paths).sort(),
      [...accessByProcedure(exposedServices).keys()].sort(),
    );
  });

  it("asks for the bearer token and its scopes exactly where the gateway does", () => {
    for (const [procedure, access] of accessByProcedure(exposedServices)) {
      const security = access.audience === "signed-in" ? [{ bearer: access.scopes }] : [];
      const { post, get } = reference.paths[procedure] ?? {};
      assert.deepEqual(post?.security, security, procedure);
      if (get !== undefined) assert.deepEqual(get.security, security, procedure);
    }
  });

  it("shows requests the gateway routes as they are: each example, POSTed", async () => {
    for (const [procedure, { post }] of Object.entries(reference.paths)) {
      const example = post?.requestBody?.content["application/json"].example;
      assert.notEqual(example, undefined, procedure);
      const answer = await fetch(`${baseUrl}${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify(example),
      });
      assert.equal(answer.status, 200, `${procedure}: ${await answer.text()}`);
      assert.deepEqual(received.get(procedure), example, procedure);
    }
  });

  it("offers GET exactly where the gateway answers it, with the example as Connect GET's message", async () => {
    for (const [procedure, { post, get }] of Object.entries(reference.paths)) {
      const example = post?.requestBody?.content["application/json"].example;
      const query = new URLSearchParams({
        connect: "v1",
        encoding: "json",
        message: JSON.stringify(example),
      });
      received.delete(procedure);
      const answer = await fetch(`${baseUrl}${procedure}?${query}`);
      if (get === undefined) {
        assert.equal(answer.status, 405, procedure);
        continue;
      }
      assert.equal(answer.status, 200, `${procedure}: ${await answer.text()}`);
      assert.deepEqual(received.get(procedure), example, procedure);
    }
  });
});
