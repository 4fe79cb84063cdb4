/**
 * The Secrets the manifests read but never contain, made for a cluster at `tilt up` and never committed:
 * a random password per database role (and the Postgres superuser), each service's DATABASE_URL built from
 * its password, and identity's JWT signing key, a private ES256 JWK named by its RFC 7638 thumbprint.
 *
 * Run as a script, it prints them as YAML for the Tiltfile's k8s_yaml. They are generated once into
 * .tourmesh/cluster/secrets.yaml (git-ignored) and reused after: Postgres takes its passwords only when it
 * first initialises its volume, and tokens signed before a restart must still verify.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { services } from "@tourmesh/stack/topology";
import { stringify } from "yaml";
import { type KubeObject, readManifest } from "./kustomize.js";
import { repoRoot } from "./repo-paths.js";

/** The services with a database of their own (the topology): each gets a role and a database of its name. */
export const databaseServices = services.flatMap((service) => (service.database ? [service.name] : []));

const namespace = "tourmesh";
const postgresHost = `postgres.${namespace}.svc.cluster.local:5432`;

/** Where the generated Secrets are kept between runs. */
export const secretsFile = join(repoRoot, ".tourmesh", "cluster", "secrets.yaml");

function secret(name: string, stringData: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "tourmesh" } },
    type: "Opaque",
    stringData,
  };
}

/** A private JWK identity accepts in JWT_SIGNING_KEYS: EC P-256, with kid, alg and use. */
export function generateSigningJwk(): Record<string, string> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { crv, kty, x, y } = createPublicKey(privateKey).export({ format: "jwk" });
  const kid = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
  const jwk = privateKey.export({ format: "jwk" }) as Record<string, string>;
  return { ...jwk, kid, alg: "ES256", use: "sig" };
}

/** A fresh set of the Secrets the manifests expect. */
export function generateClusterSecrets(): KubeObject[] {
  const password = () => randomBytes(24).toString("base64url");
  const passwords = Object.fromEntries(databaseServices.map((service) => [service, password()]));
  return [
    secret("postgres-credentials", {
      POSTGRES_PASSWORD: password(),
      ...Object.fromEntries(
        databaseServices.map((service) => [
          `${service.toUpperCase()}_DB_PASSWORD`,
          passwords[service] as string,
        ]),
      ),
    }),
    ...databaseServices.map((service) =>
      secret(`${service}-database`, {
        DATABASE_URL: `postgres://${service}:${passwords[service]}@${postgresHost}/${service}`,
      }),
    ),
    secret("identity-jwt-keys", { JWT_SIGNING_KEYS: JSON.stringify([generateSigningJwk()]) }),
  ];
}

/** Objects as one multi-document YAML stream, as `kubectl apply -f` and Tilt's k8s_yaml read it. */
function yamlStream(objects: KubeObject[]): string {
  return objects.map((object) => stringify(object)).join("---\n");
}

/** The Secrets kept in `file`, generating and keeping them there first if it does not exist yet. */
export function loadOrCreateClusterSecrets(file = secretsFile): KubeObject[] {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, yamlStream(generateClusterSecrets()), { mode: 0o600 });
  }
  return readManifest(file);
}

if (import.meta.filename === process.argv[1]) process.stdout.write(yamlStream(loadOrCreateClusterSecrets()));
