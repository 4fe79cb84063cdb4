// What `tilt up` makes and runs besides the manifests: the Secrets, the Linkerd certificates, the install
// scripts and the end-to-end check.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { create, type DescMethod, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { parseSigningKeys } from "../../services/identity/src/signing-keys.js";
import { databaseServices, generateClusterSecrets, loadOrCreateClusterSecrets } from "./cluster-secrets.js";
import { servedContracts } from "./contracts.js";
import { repoRoot } from "./repo-paths.js";

const scratch = mkdtempSync(join(tmpdir(), "tourmesh-cluster-setup-"));
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

describe("the Linkerd trust anchor and issuer", () => {
  const openssl = (...args: string[]) => spawnSync("openssl", args, { encoding: "utf8" });
  const dir = join(scratch, "linkerd");

  it("chain up, on P-256, with the issuer a CA that signs only leaves; a second run keeps them", (t) => {
    if (openssl("version").status !== 0) {
      t.skip("openssl is not installed: the certificate script did not run");
      return;
    }
    const run = () => spawnSync(join(repoRoot, "tilt", "linkerd-certs.sh"), [dir], { encoding: "utf8" });
    assert.equal(run().status, 0);
    const issuer = readFileSync(join(dir, "issuer.crt"), "utf8");
    assert.equal(openssl("verify", "-CAfile", join(dir, "ca.crt"), join(dir, "issuer.crt")).status, 0);
    const text = openssl("x509", "-in", join(dir, "issuer.crt"), "-noout", "-text").stdout;
    assert.match(text, /Subject: CN ?= ?identity\.linkerd\.cluster\.local/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /CA:TRUE, pathlen:0/);
    assert.match(
      openssl("x509", "-in", join(dir, "ca.crt"), "-noout", "-subject").stdout,
      /root\.linkerd\.cluster\.local/,
    );
    assert.equal(run().status, 0);
    assert.equal(readFileSync(join(dir, "issuer.crt"), "utf8"), issuer);
  });
});

describe("the Tilt scripts", () => {
  it("parse and are executable", () => {
    for (const script of readdirSync(join(repoRoot, "tilt")).filter((name) => name.endsWith(".sh"))) {
      const path = join(repoRoot, "tilt", script);
      assert.equal(spawnSync("bash", ["-n", path]).status, 0, `${script} parses`);
      assert.ok(statSync(path).mode & 0o100, `${script} is executable`);
    }
  });
});

/**
 * A stand-in for the gateway that speaks Connect with JSON and knows the contracts: it parses each request
 * strictly against the method's input message (an unknown field or a wrong path fails) and answers from
 * `answers`, written out as the real gateway would.
 */
async function fakeGateway(
  answers: Record<string, object>,
): Promise<{ url: string; server: Server; calls: string[] }> {
  const methods = new Map<string, DescMethod>(
    Object.values(servedContracts)
      .flat()
      .flatMap((service) =>
        service.methods.map((method) => [`/${service.typeName}/${method.name}`, method] as const),
      ),
  );
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const method = methods.get(request.url ?? "");
      const answer = answers[request.url ?? ""];
      try {
        assert.ok(method && answer, `unexpected call ${request.url}`);
        fromJson(method.input, JSON.parse(body) as JsonValue);
        calls.push(request.url as string);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(toJson(method.output, create(method.output, answer as never))));
      } catch (error) {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ code: "invalid_argument", message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, calls };
}

describe("the end-to-end check", () => {
  const booking = (status: BookingStatus) => ({ booking: { bookingId: "b-1", status } });
  const answers = (status: BookingStatus) => ({
    "/tourmesh.identity.v1.IdentityService/SignIn": { accessToken: "token", expiresIn: 900 },
    "/tourmesh.catalog.v1.CatalogService/ListTours": { tours: [{ tourId: "t-1", seatsAvailable: 3 }] },
    "/tourmesh.booking.v1.BookingService/CreateBooking": booking(BookingStatus.PENDING_PAYMENT),
    "/tourmesh.booking.v1.BookingService/GetBooking": booking(status),
    "/tourmesh.notification.v1.NotificationService/ListNotifications": {
      notifications: [{ bookingId: "b-1" }],
    },
  });
  const runCheck = (url: string) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", join(import.meta.dirname, "cluster-e2e.ts")], {
      env: { ...process.env, TOURMESH_GATEWAY_URL: url },
    });

  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it("books through the gateway's contract and passes when the booking is confirmed and notified", async () => {
    const gateway = await fakeGateway(answers(BookingStatus.CONFIRMED));
    servers.push(gateway.server);
    const { stdout } = await runCheck(gateway.url);
    assert.match(stdout, /end-to-end check passed/);
    assert.equal(gateway.calls.length, 5);
  });

  it("fails when the booking is not confirmed", async () => {
    const gateway = await fakeGateway(answers(BookingStatus.PAYMENT_FAILED));
    servers.push(gateway.server);
    await assert.rejects(runCheck(gateway.url), /booking ended BOOKING_STATUS_PAYMENT_FAILED/);
  });
});
