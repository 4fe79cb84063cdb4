import { createHash } from "node:crypto";
import { InvalidArgumentError } from "./errors.js";

/**
 * Opaque page tokens bound to their query. A token carries the position after the last item of a page and a
 * fingerprint of the filters it was issued for, so that a token replayed with other filters, truncated or
 * made up is refused with INVALID_ARGUMENT instead of silently returning the wrong page. (It is not signed:
 * a position only ever selects rows the caller may read anyway.)
 */
export interface PageTokenCodec<Position> {
  encode(position: Position, filters: unknown): string;
  /** Returns undefined for the empty token (the first page). */
  decode(token: string, filters: unknown): Position | undefined;
}

function fingerprint(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

export function pageTokenCodec<Position>(
  isPosition: (value: unknown) => value is Position,
  field = "page_token",
): PageTokenCodec<Position> {
  const malformed = () =>
    new InvalidArgumentError([{ field, description: "is not a page token issued for this query" }]);
  return {
    encode(position, filters) {
      return Buffer.from(JSON.stringify({ p: position, f: fingerprint(filters) })).toString("base64url");
    },
    decode(token, filters) {
      if (token === "") return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      } catch {
        throw malformed();
      }
      if (typeof parsed !== "object" || parsed === null) throw malformed();
      const { p, f } = parsed as { p?: unknown; f?: unknown };
      if (f !== fingerprint(filters) || !isPosition(p)) throw malformed();
      return p;
    },
  };
}
