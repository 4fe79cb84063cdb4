import { randomBytes } from "node:crypto";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { AuthMetrics, baseConfigSchema, configFields, type Logger, runService } from "@tourmesh/platform";
import { z } from "zod";
import { seedDemoUsers } from "./demo-users.js";
import { identityHandlers, jwksRoute } from "./handlers.js";
import { hashPassword } from "./passwords.js";
import { generateSigningKey, parseSigningKeys, type SigningKey } from "./signing-keys.js";
import { UserStore } from "./user-store.js";

const signingKeysSetting = z
  .string()
  .optional()
  .transform((json, context) => {
    if (json === undefined || json === "") return undefined;
    try {
      return parseSigningKeys(json);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

let keys: readonly SigningKey[] | undefined;

/** The configured keys, or (local mode) one key made at start, the same for the gRPC side and the JWKS. */
function signingKeys(configured: readonly SigningKey[] | undefined, logger: Logger): readonly SigningKey[] {
  if (keys === undefined) {
    keys = configured ?? [generateSigningKey()];
    if (configured === undefined) {
      logger.warn(
        { kid: keys[0]?.kid },
        "JWT_SIGNING_KEYS is not set: signing with an ephemeral key; its tokens die with this process, and " +
          "replicas would not trust each other's tokens",
      );
    }
  }
  return keys;
}

await runService({
  name: "identity",
  config: baseConfigSchema.extend({
    DATABASE_URL: z.url(),
    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
    JWT_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400),
    JWT_SIGNING_KEYS: signingKeysSetting,
    SEED_DEMO_USERS: configFields.flag.default(false),
  }),
  defaults: {
    PORT: 50056,
    METRICS_PORT: 9456,
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/identity",
    JWT_ISSUER: "https://identity.tourmesh",
    JWT_AUDIENCE: "tourmesh",
    JWT_TTL_SECONDS: 900,
  },
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  async routes(server, { config, db, logger, metrics }) {
    const users = new UserStore(db as NonNullable<typeof db>);
    if (config.SEED_DEMO_USERS) logger.info({ added: await seedDemoUsers(users) }, "seeded demo users");
    const [signingKey] = signingKeys(config.JWT_SIGNING_KEYS, logger);
    server.add(
      IdentityService,
      identityHandlers({
        users,
        signingKey: signingKey as SigningKey,
        tokens: {
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          ttlSeconds: config.JWT_TTL_SECONDS,
        },
        dummyHash: await hashPassword(randomBytes(32).toString("base64")),
        authMetrics: AuthMetrics.of(metrics.registry),
      }),
    );
  },
  httpRoutes: ({ config, logger }) => ({
    "/.well-known/jwks.json": jwksRoute(signingKeys(config.JWT_SIGNING_KEYS, logger)),
  }),
});
