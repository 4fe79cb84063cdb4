import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { baseConfigSchema, ConfigError, loadConfig } from "./config.js";

const schema = baseConfigSchema.extend({ DATABASE_URL: z.url() });
const defaults = { PORT: 50051, METRICS_PORT: 9451, DATABASE_URL: "postgres://postgres@127.0.0.1/catalog" };

describe("loadConfig", () => {
  it("fills unset variables from the service's defaults and the base defaults", () => {
    const config = loadConfig(schema, defaults, {});
    assert.equal(config.PORT, 50051);
    assert.equal(config.MESH_MODE, false);
    assert.equal(config.DEFAULT_DEADLINE_MS, 5_000);
  });

  it("prefers the environment and parses flags", () => {
    const config = loadConfig(schema, defaults, { PORT: "6000", MESH_MODE: "true" });
    assert.equal(config.PORT, 6000);
    assert.equal(config.MESH_MODE, true);
  });

  it("names every bad variable in one error", () => {
    assert.throws(
      () => loadConfig(schema, defaults, { PORT: "70000", MESH_MODE: "yes", DATABASE_URL: "not a url" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /PORT:/.test(error.message) &&
        /MESH_MODE:/.test(error.message) &&
        /DATABASE_URL:/.test(error.message) &&
        !/METRICS_PORT:/.test(error.message),
    );
  });
});
