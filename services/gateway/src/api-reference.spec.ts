import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { accessByProcedure, exposedServices } from "./public-api.js";

interface Operation {
  security: Array<Record<string, string[]>>;
}
interface ApiReference {
  paths: Record<string, { post?: Operation; get?: Operation }>;
}

const reference = JSON.parse(
  readFileSync(new URL("../../../gen/openapi/tourmesh.openapi.json", import.meta.url), "utf8"),
) as ApiReference;

describe("the API reference (gen/openapi/tourmesh.openapi.json)", () => {
  it("documents exactly the methods the gateway exposes", () => {
    assert.deepEqual(
      Object.keys(reference.paths).sort(),
      [...accessByProcedure(exposedServices).keys()].sort(),
    );
  });

  it("asks for the bearer token exactly where the gateway does", () => {
    for (const [procedure, access] of accessByProcedure(exposedServices)) {
      const security = access === "signed-in" ? [{ bearer: [] }] : [];
      const { post, get } = reference.paths[procedure] ?? {};
      assert.deepEqual(post?.security, security, procedure);
      if (get !== undefined) assert.deepEqual(get.security, security, procedure);
    }
  });

  it("offers GET exactly for the methods the gateway answers on GET: those without side effects", () => {
    for (const { service, methods } of exposedServices) {
      for (const method of service.methods.filter((method) => methods[method.localName] !== undefined)) {
        const procedure = `/${service.typeName}/${method.name}`;
        const sideEffectFree = method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
        assert.equal(reference.paths[procedure]?.get !== undefined, sideEffectFree, procedure);
      }
    }
  });
});
