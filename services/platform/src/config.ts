import { fileURLToPath } from "node:url";
import { z } from "zod";

/** Thrown at start when the environment does not validate; names every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** 0 asks the OS for a free port (tests start services on port 0). */
const port = z.coerce.number().int().min(0).max(65_535);
const milliseconds = z.coerce.number().int().min(0);
const flag = z.enum(["true", "false", "1", "0", ""]).transform((value) => value === "true" || value === "1");

/** The repository's flag file (flagd's format): the flags of local runs, and what the cluster's ConfigMap holds. */
export const REPOSITORY_FLAGS_FILE = fileURLToPath(new URL("../../../flags/flags.json", import.meta.url));

/** Settings every service reads; each service adds its own with `.extend({...})`. */
export const baseConfigSchema = z.object({
  PORT: port,
  METRICS_PORT: port,
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** In the mesh, Linkerd retries; the app's own transport retries must then be off. */
  MESH_MODE: flag.default(false),
  /** The deadline given to an incoming call that arrives without one. */
  DEFAULT_DEADLINE_MS: milliseconds.default(5_000),
  /** After SIGTERM, how long health says NOT_SERVING while calls are still taken (for load balancers to notice). */
  SHUTDOWN_DELAY_MS: milliseconds.default(0),
  /** How long in-flight calls may take to finish after SIGTERM before they are cut off. */
  SHUTDOWN_GRACE_MS: milliseconds.default(10_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Share of new traces recorded when exporting (calls that arrive traced follow their caller's choice). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  /** The feature flag definitions, in flagd's format; re-read when they change. In the cluster: a ConfigMap's file. */
  FLAGS_FILE: z.string().min(1).default(REPOSITORY_FLAGS_FILE),
  /** How often the flag file is checked for a change. */
  FLAGS_POLL_MS: milliseconds.min(10).default(500),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** What an access token must say: who issued it and for whom. Identity signs with them; every verifier checks them. */
export const tokenClaimsFields = {
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
};

/** The settings of a service that verifies access tokens: where identity publishes its keys, and the claims. */
export const tokenVerifierFields = {
  JWKS_URL: z.url(),
  ...tokenClaimsFields,
};

export const tokenClaimsDefaults = { JWT_ISSUER: "https://identity.tourmesh", JWT_AUDIENCE: "tourmesh" };

/** Local runs: identity on its standard HTTP port. */
export const tokenVerifierDefaults = {
  JWKS_URL: "http://127.0.0.1:9456/.well-known/jwks.json",
  ...tokenClaimsDefaults,
};

/** The TokenVerifier's options from a service's settings (see runService's `verifier`). */
export const tokenVerifierOptions = (config: z.output<z.ZodObject<typeof tokenVerifierFields>>) => ({
  jwksUrl: config.JWKS_URL,
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
});

export const configFields = { port, milliseconds, flag };

/** Values for a schema's unset variables, e.g. `{ PORT: 50051, METRICS_PORT: 9451 }`. */
export type ConfigDefaults<Schema extends z.ZodObject> = Partial<
  Record<keyof z.input<Schema>, string | number>
>;

/**
 * Validates the environment against a schema, with per-service defaults filled in for unset variables.
 * A bad value fails the start with one line per bad variable, e.g. `PORT: Too big: expected number to be <=65535`.
 */
export function loadConfig<Schema extends z.ZodObject>(
  schema: Schema,
  defaults: ConfigDefaults<Schema> = {},
  env: NodeJS.ProcessEnv = process.env,
): z.output<Schema> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(defaults)) merged[key] = String(value);
  for (const key of Object.keys(schema.shape)) {
    if (env[key] !== undefined) merged[key] = env[key];
  }
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
}
