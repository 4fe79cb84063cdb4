import * as assert from "node:assert/strict";
import { randomBytes, scryptSync } from "node:crypto";
import { describe, it } from "node:test";
import { hashPassword, verifyPassword } from "./passwords.js";

describe("password hashes", () => {
  it("carry the algorithm, its parameters and a per-hash random salt", async () => {
    const first = await hashPassword("correct horse battery staple");
    const second = await hashPassword("correct horse battery staple");
    assert.match(first, /^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(first, second, "the same password must not give the same hash twice");
    assert.notEqual(first.split("$")[4], second.split("$")[4]);
  });

  it("accept the right password only", async () => {
    const stored = await hashPassword("tourmesh-demo");
    assert.equal(await verifyPassword("tourmesh-demo", stored), true);
    assert.equal(await verifyPassword("tourmesh-demo ", stored), false);
    assert.equal(await verifyPassword("", stored), false);
  });

  it("are checked with the parameters stored in them, so stronger settings can come later", async () => {
    const salt = randomBytes(16);
    const hash = scryptSync("old password", salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");
    const stored = `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(hash)}`;
    assert.equal(await verifyPassword("old password", stored), true);
    assert.equal(await verifyPassword("new password", stored), false);
  });

  it("refuse a stored value that is not one of their hashes", async () => {
    for (const stored of [
      "",
      "plaintext",
      "$scrypt$ln=99,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
      "$2b$10$abcdefghijk",
    ]) {
      await assert.rejects(verifyPassword("x", stored), /malformed/, stored);
    }
  });
});
