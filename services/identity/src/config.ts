import {
  baseConfigSchema,
  type ConfigDefaults,
  configFields,
  tokenClaimsDefaults,
  tokenClaimsFields,
} from "@tourmesh/platform";
import { z } from "zod";
import { generateSigningKey, parseSigningKeys, type SigningKey } from "./signing-keys.js";

/**
 * JWT_SIGNING_KEYS: the configured keys (the first signs, all are published), or when unset (local mode) one
 * key made at start. Read once per process, so the gRPC side signs with the key the JWKS publishes.
 */
const signingKeysSetting = z
  .string()
  .optional()
  .transform((json, context): { keys: readonly SigningKey[]; ephemeral: boolean } => {
    if (json === undefined || json === "") return { keys: [generateSigningKey()], ephemeral: true };
    try {
      return { keys: parseSigningKeys(json), ephemeral: false };
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/** Identity's settings. */
export const identityConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.url(),
  ...tokenClaimsFields,
  JWT_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400),
  JWT_SIGNING_KEYS: signingKeysSetting,
  /** Adds the demo users (alice and bob) at start: for local runs only. */
  SEED_DEMO_USERS: configFields.flag.default(false),
});

export const identityDefaults = {
  PORT: 50056,
  METRICS_PORT: 9456,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/identity",
  ...tokenClaimsDefaults,
  JWT_TTL_SECONDS: 900,
} satisfies ConfigDefaults<typeof identityConfigSchema>;
