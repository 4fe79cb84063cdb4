import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { protocGenOpenapi } from "./plugin.js";

const buf = join(process.cwd(), "node_modules", ".bin", "buf");
const committed = "gen/openapi/tourmesh.openapi.json";
const parameter = "file=api.json,title=Fixture API,version=v1,license=Apache-2.0,server=/,package=tourmesh";

const fixture = `syntax = "proto3";

package tourmesh.fixture.v1;

import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "tourmesh/options/v1/access.proto";
import "tourmesh/options/v1/example.proto";

// Reads and writes fixtures.
service FixtureService {
  // Reads a fixture. Never changes anything.
  rpc Read(ReadRequest) returns (ReadResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (tourmesh.options.v1.access).audience = AUDIENCE_PUBLIC;
    option (tourmesh.options.v1.example_request) = '{"id": 7, "kind": "KIND_LARGE"}';
  }
  // Writes a fixture.
  rpc Write(ReadRequest) returns (ReadResponse) {
    option deprecated = true;
    option (tourmesh.options.v1.access).audience = AUDIENCE_SIGNED_IN;
    option (tourmesh.options.v1.example_request) = '{}';
  }
  // Writes a fixture for its keeper.
  rpc Keep(ReadRequest) returns (ReadResponse) {
    option (tourmesh.options.v1.access) = {
      audience: AUDIENCE_SIGNED_IN
      scopes: ["fixtures:write", "fixtures:keep"]
    };
    option (tourmesh.options.v1.example_request) = '{}';
  }
  // For other services only.
  rpc Hidden(ReadRequest) returns (ReadResponse) {
    option (tourmesh.options.v1.access).audience = AUDIENCE_INTERNAL;
  }
}

// Sizes.
enum Kind {
  // Not set.
  KIND_UNSPECIFIED = 0;
  // Big.
  KIND_LARGE = 1;
}

// Request of Read.
message ReadRequest {
  // Which fixture.
  int64 id = 1;
  // Its size.
  Kind kind = 2;
}

// Every kind of field.
message ReadResponse {
  uint64 count = 1;
  bytes blob = 2;
  google.protobuf.Timestamp read_time = 3;
  google.protobuf.Duration age = 4;
  google.protobuf.Int32Value maybe = 5;
  map<string, int64> totals = 6;
  repeated Kind kinds = 7;
  oneof choice {
    string name = 8;
    ReadRequest nested = 9;
  }
  string old_name = 10 [deprecated = true];
  double ratio = 11;
  sint32 delta = 12;
}
`;

type Json = Record<string, unknown>;

describe("protoc-gen-openapi", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tourmesh-openapi-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs the plugin as buf would on a module of the options protos and `source` as the fixture proto. */
  function generate(source: string): Json | undefined {
    const module = mkdtempSync(join(scratch, "module-"));
    cpSync("proto/tourmesh/options", join(module, "tourmesh/options"), { recursive: true });
    mkdirSync(join(module, "tourmesh/fixture/v1"), { recursive: true });
    writeFileSync(join(module, "tourmesh/fixture/v1/fixture.proto"), source);
    const image = join(module, "image.binpb");
    execFileSync(buf, ["build", module, "-o", image], { stdio: "pipe" });
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
    const response = protocGenOpenapi.run(
      create(CodeGeneratorRequestSchema, {
        fileToGenerate: ["tourmesh/fixture/v1/fixture.proto"],
        parameter,
        protoFile: set.file,
      }),
    );
    const [file] = response.file;
    if (file === undefined) return undefined;
    assert.equal(file.name, "api.json");
    return JSON.parse(file.content) as Json;
  }

  const at = (value: unknown, ...path: string[]): unknown =>
    path.reduce<unknown>((node, key) => (node as Json | undefined)?.[key], value);

  it("documents each method that is not internal as POST, and GET when it has no side effects", () => {
    const document = generate(fixture);
    const paths = at(document, "paths") as Json;
    assert.deepEqual(Object.keys(paths), [
      "/tourmesh.fixture.v1.FixtureService/Read",
      "/tourmesh.fixture.v1.FixtureService/Write",
      "/tourmesh.fixture.v1.FixtureService/Keep",
    ]);
    assert.deepEqual(Object.keys(paths["/tourmesh.fixture.v1.FixtureService/Read"] as Json), ["post", "get"]);
    assert.deepEqual(Object.keys(paths["/tourmesh.fixture.v1.FixtureService/Write"] as Json), ["post"]);
  });

  it("secures signed-in methods with the bearer token and leaves public ones open", () => {
    const paths = at(generate(fixture), "paths");
    assert.deepEqual(at(paths, "/tourmesh.fixture.v1.FixtureService/Read", "post", "security"), []);
    assert.deepEqual(at(paths, "/tourmesh.fixture.v1.FixtureService/Write", "post", "security"), [
      { bearer: [] },
    ]);
    const responses = at(paths, "/tourmesh.fixture.v1.FixtureService/Write", "post", "responses") as Json;
    assert.deepEqual(responses["401"], { $ref: "#/components/responses/Unauthenticated" });
    assert.equal(responses["403"], undefined, "no scopes to lack");
  });

  it("lists the scopes a method requires in its security requirement, and answers 403 without them", () => {
    const paths = at(generate(fixture), "paths");
    assert.deepEqual(at(paths, "/tourmesh.fixture.v1.FixtureService/Keep", "post", "security"), [
      { bearer: ["fixtures:write", "fixtures:keep"] },
    ]);
    const responses = at(paths, "/tourmesh.fixture.v1.FixtureService/Keep", "post", "responses") as Json;
    assert.deepEqual(responses["403"], { $ref: "#/components/responses/PermissionDenied" });
  });

  it("marks the operations of a deprecated method, or of a deprecated service, deprecated", () => {
    const paths = at(generate(fixture), "paths");
    assert.equal(at(paths, "/tourmesh.fixture.v1.FixtureService/Write", "post", "deprecated"), true);
    assert.equal(at(paths, "/tourmesh.fixture.v1.FixtureService/Read", "post", "deprecated"), undefined);
    const deprecatedService = fixture.replace(
      "service FixtureService {\n",
      "service FixtureService {\n  option deprecated = true;\n",
    );
    const get = at(generate(deprecatedService), "paths", "/tourmesh.fixture.v1.FixtureService/Read", "get");
    assert.equal(at(get, "deprecated"), true);
  });

  it("takes summaries and descriptions from the proto comments", () => {
    const read = at(generate(fixture), "paths", "/tourmesh.fixture.v1.FixtureService/Read", "post");
    assert.equal(at(read, "summary"), "Reads a fixture.");
    assert.equal(at(read, "description"), "Reads a fixture. Never changes anything.");
  });

  it("gives the example request in canonical JSON, in the body and in GET's message parameter", () => {
    const read = at(generate(fixture), "paths", "/tourmesh.fixture.v1.FixtureService/Read") as Json;
    const expected = { id: "7", kind: "KIND_LARGE" };
    assert.deepEqual(at(read, "post", "requestBody", "content", "application/json", "example"), expected);
    const message = (at(read, "get", "parameters") as Json[]).find(
      (parameter) => parameter.name === "message",
    );
    assert.deepEqual(at(message, "content", "application/json", "example"), expected);
  });

  it("maps every kind of field to its canonical proto3 JSON form", () => {
    const schemas = at(generate(fixture), "components", "schemas") as Json;
    const properties = at(schemas, "tourmesh.fixture.v1.ReadResponse", "properties") as Json;
    assert.deepEqual(properties.count, { type: "string", format: "uint64", pattern: "^[0-9]+$" });
    assert.deepEqual(properties.blob, { type: "string", contentEncoding: "base64" });
    assert.equal(at(properties, "readTime", "format"), "date-time");
    assert.equal(at(properties, "age", "pattern"), "^-?[0-9]+(\\.[0-9]{1,9})?s$");
    assert.deepEqual(properties.maybe, { type: ["integer", "null"], format: "int32" });
    assert.deepEqual(properties.totals, {
      type: "object",
      additionalProperties: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
    });
    assert.deepEqual(properties.kinds, {
      type: "array",
      items: { $ref: "#/components/schemas/tourmesh.fixture.v1.Kind" },
    });
    assert.deepEqual(properties.nested, { $ref: "#/components/schemas/tourmesh.fixture.v1.ReadRequest" });
    assert.deepEqual(properties.oldName, { type: "string", deprecated: true });
    assert.deepEqual(properties.ratio, { type: "number", format: "double" });
    assert.deepEqual(properties.delta, { type: "integer", format: "int32" });
    assert.match(
      String(at(schemas, "tourmesh.fixture.v1.ReadResponse", "description")),
      /At most one of `name`, `nested`/,
    );
    assert.deepEqual(at(schemas, "tourmesh.fixture.v1.Kind", "enum"), ["KIND_UNSPECIFIED", "KIND_LARGE"]);
    assert.match(String(at(schemas, "tourmesh.fixture.v1.Kind", "description")), /- `KIND_LARGE`: Big\./);
    assert.deepEqual(at(schemas, "tourmesh.fixture.v1.ReadRequest", "properties", "id"), {
      type: "string",
      format: "int64",
      pattern: "^-?[0-9]+$",
      description: "Which fixture.",
    });
  });

  it("refuses a method of ours that declares no audience, naming it", () => {
    const undeclared = fixture.replace(
      "    option (tourmesh.options.v1.access).audience = AUDIENCE_INTERNAL;\n",
      "",
    );
    assert.throws(
      () => generate(undeclared),
      /tourmesh\.fixture\.v1\.FixtureService\.Hidden declares no audience/,
    );
  });

  it("refuses an exposed method without an example, or with one that does not fit its input", () => {
    const missing = fixture.replace("    option (tourmesh.options.v1.example_request) = '{}';\n", "");
    assert.throws(
      () => generate(missing),
      /FixtureService\.Write is exposed but has no \(tourmesh\.options\.v1\.example_request\)/,
    );
    const misspelt = fixture.replace(`'{"id": 7,`, `'{"identifier": 7,`);
    assert.throws(
      () => generate(misspelt),
      /FixtureService\.Read: its \(tourmesh\.options\.v1\.example_request\) is not a tourmesh\.fixture\.v1\.ReadRequest/,
    );
  });

  it("writes nothing for an input without services of ours", () => {
    assert.equal(
      generate(fixture.replaceAll("package tourmesh.fixture.v1;", "package other.fixture.v1;")),
      undefined,
    );
  });

  it("the committed document is valid OpenAPI 3.1, its examples valid against their schemas", async () => {
    // Redocly's recommended rules, among them the OpenAPI 3.1 structure and example checks. Its rule against
    // localhost servers is off: the document names the local stack's gateway on purpose.
    const config = await createConfig({
      extends: ["recommended"],
      rules: { "no-server-example.com": "off" },
    });
    const problems = await lintFromString({
      source: readFileSync(committed, "utf8"),
      absoluteRef: join(process.cwd(), committed),
      config,
    });
    assert.deepEqual(
      problems.map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`),
      [],
    );
  });
});
