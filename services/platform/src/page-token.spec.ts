import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "./errors.js";
import { pageTokenCodec } from "./page-token.js";

const isOffset = (value: unknown): value is { id: string } =>
  typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string";
const tokens = pageTokenCodec(isOffset);

describe("page tokens", () => {
  it("round-trips a position for the same filters", () => {
    const token = tokens.encode({ id: "tour_paris_louvre" }, { destination: "paris" });
    assert.deepEqual(tokens.decode(token, { destination: "paris" }), { id: "tour_paris_louvre" });
  });

  it("reads the empty token as the first page", () => {
    assert.equal(tokens.decode("", {}), undefined);
  });

  for (const [name, token] of [
    ["garbage", "not-a-token"],
    ["truncated", tokens.encode({ id: "x" }, {}).slice(0, 10)],
    ["issued for other filters", tokens.encode({ id: "x" }, { destination: "rome" })],
    [
      "with a position of the wrong shape",
      Buffer.from(JSON.stringify({ p: 3, f: "x" })).toString("base64url"),
    ],
  ]) {
    it(`refuses a token ${name} with a field violation on page_token`, () => {
      assert.throws(
        () => tokens.decode(token as string, {}),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.violations[0]?.field === "page_token",
      );
    });
  }
});
