// The scripts of tilt/, which install Linkerd, with a trust anchor and issuer they make, before the Tiltfile
// deploys anything.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { repoRoot } from "./repo-paths.js";

const scratch = mkdtempSync(join(tmpdir(), "tourmesh-tilt-scripts-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

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
