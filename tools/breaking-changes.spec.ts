import * as assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { breakingChanges } from "./breaking-changes.js";

const catalogProto = "proto/tourmesh/catalog/v1/catalog.proto";

describe("the gate on breaking changes (buf breaking against proto/released)", () => {
  const copies: string[] = [];
  after(() => {
    for (const copy of copies) rmSync(copy, { recursive: true, force: true });
  });

  /** A copy of the buf workspace with catalog.proto changed by `edit`, which must change it. */
  function workspaceWith(edit: (source: string) => string): string {
    const copy = mkdtempSync(join(tmpdir(), "tourmesh-breaking-"));
    copies.push(copy);
    cpSync("buf.yaml", join(copy, "buf.yaml"));
    cpSync("proto", join(copy, "proto"), { recursive: true });
    const source = readFileSync(catalogProto, "utf8");
    const edited = edit(source);
    assert.notEqual(edited, source, "the edit changed nothing");
    writeFileSync(join(copy, catalogProto), edited);
    return copy;
  }

  const rules = (workspace: string) => breakingChanges(workspace).map((change) => change.type);

  it("passes the contracts as they are", () => {
    assert.deepEqual(breakingChanges(), []);
  });

  it("passes a new field", () => {
    const added = workspaceWith((source) =>
      source.replace(
        "  string tour_id = 1;\n}\n\n// Response of CatalogService.GetTour.",
        "  string tour_id = 1;\n  // Also return the tour's reviews.\n  bool with_reviews = 2;\n}\n\n// Response of CatalogService.GetTour.",
      ),
    );
    assert.deepEqual(rules(added), []);
  });

  it("fails a renumbered field", () => {
    const renumbered = workspaceWith((source) =>
      source.replace(
        "  // The tour to get.\n  string tour_id = 1;",
        "  // The tour to get.\n  string tour_id = 2;",
      ),
    );
    assert.deepEqual(rules(renumbered), ["FIELD_NO_DELETE"]);
  });

  it("fails a renamed field: its JSON name changes too", () => {
    const renamed = workspaceWith((source) =>
      source.replace(
        "  string destination = 1;\n  // Only tours with",
        "  string city = 1;\n  // Only tours with",
      ),
    );
    assert.deepEqual(rules(renamed).sort(), ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"]);
  });

  it("fails a removed method", () => {
    const removed = workspaceWith((source) =>
      source.replace(/ {2}\/\/ Gets one tour by id\.\n {2}rpc GetTour\(.*?\n {2}\}\n/s, ""),
    );
    const changes = breakingChanges(removed);
    assert.deepEqual(
      changes.map((change) => change.type),
      ["RPC_NO_DELETE"],
    );
    assert.match(changes[0]?.message ?? "", /"GetTour" on service "CatalogService" was deleted/);
  });
});
