// The Secrets `tilt up` generates for the manifests to read.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseSigningKeys } from "@tourmesh/identity/signing-keys";
import { databaseServices, generateClusterSecrets, loadOrCreateClusterSecrets } from "./cluster-secrets.js";
import { repoRoot } from "./repo-paths.js";

const scratch = mkdtempSync(join(tmpdir(), "tourmesh-cluster-secrets-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const stringData = (secrets: ReturnType<typeof generateClusterSecrets>, name: string) =>
  secrets.find((secret) => secret.metadata.name === name)?.stringData as Record<string, string>;

describe("the cluster Secrets", () => {
  const secrets = generateClusterSecrets();

  it("give each service a DATABASE_URL to its own database, with the password Postgres creates its role with", () => {
    const passwords = stringData(secrets, "postgres-credentials");
    for (const service of databaseServices) {
      const url = new URL(stringData(secrets, `${service}-database`).DATABASE_URL as string);
      assert.equal(url.host, "postgres.tourmesh.svc.cluster.local:5432");
      assert.equal(url.username, service);
      assert.equal(url.pathname, `/${service}`);
      assert.equal(url.password, passwords[`${service.toUpperCase()}_DB_PASSWORD`]);
    }
    assert.ok((passwords.POSTGRES_PASSWORD ?? "").length >= 32);
  });

  it("give identity a private signing key it accepts", () => {
    const json = stringData(secrets, "identity-jwt-keys").JWT_SIGNING_KEYS as string;
    const [key] = parseSigningKeys(json);
    assert.equal(key?.alg, "ES256");
    assert.equal(createPrivateKey({ key: JSON.parse(json)[0], format: "jwk" }).type, "private");
  });

  it("are random each time they are generated", () => {
    assert.notDeepEqual(generateClusterSecrets(), generateClusterSecrets());
  });

  it("are generated once, kept private, and reused", () => {
    const file = join(scratch, "secrets", "secrets.yaml");
    const first = loadOrCreateClusterSecrets(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateClusterSecrets(file), first);
  });

  it("are kept where git ignores them", () => {
    assert.match(readFileSync(join(repoRoot, ".gitignore"), "utf8"), /^\.tourmesh\/$/m);
  });
});
