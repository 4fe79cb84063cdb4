import { randomBytes } from "node:crypto";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { AuthMetrics, runService } from "@tourmesh/platform";
import { identityConfigSchema, identityDefaults } from "./config.js";
import { seedDemoUsers } from "./demo-users.js";
import { identityHandlers, jwksRoute } from "./handlers.js";
import { hashPassword } from "./passwords.js";
import { SignInFailures } from "./sign-in-failures.js";
import type { SigningKey } from "./signing-keys.js";
import { UserStore } from "./user-store.js";

await runService({
  name: "identity",
  config: identityConfigSchema,
  defaults: identityDefaults,
  database: { url: (config) => config.DATABASE_URL, migrations: new URL("../migrations", import.meta.url) },
  async routes(server, { config, db, logger, metrics }) {
    const users = new UserStore(db);
    if (config.SEED_DEMO_USERS) logger.info({ added: await seedDemoUsers(users) }, "seeded demo users");
    const { keys, ephemeral } = config.JWT_SIGNING_KEYS;
    if (ephemeral) {
      logger.warn(
        { kid: keys[0]?.kid },
        "JWT_SIGNING_KEYS is not set: signing with an ephemeral key; its tokens die with this process, and " +
          "replicas would not trust each other's tokens",
      );
    }
    server.add(
      IdentityService,
      identityHandlers({
        users,
        failures: new SignInFailures(db),
        signingKey: keys[0] as SigningKey,
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
  httpRoutes: ({ config }) => ({ "/.well-known/jwks.json": jwksRoute(config.JWT_SIGNING_KEYS.keys) }),
});
