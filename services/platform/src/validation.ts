import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  buildPath,
  isReflectMessage,
  type PathBuilder,
  pathToString,
  type ReflectMessage,
  reflect,
} from "@bufbuild/protobuf/reflect";
import { type FieldViolation, InvalidArgumentError } from "./errors.js";

/**
 * Collects every problem of a request before failing, so the caller learns all of them at once.
 *
 *   const check = new RequestCheck();
 *   check.text("tour_id", request.tourId, { max: 64 });
 *   check.intRange("seats", request.seats, 1, 50);
 *   check.done(); // throws InvalidArgumentError with one violation per bad field
 */
export class RequestCheck {
  private readonly violations: FieldViolation[] = [];

  /** Records a violation when `ok` is false. */
  that(ok: boolean, field: string, description: string): this {
    if (!ok) this.violations.push({ field, description });
    return this;
  }

  /** A required string of at most `max` characters. */
  text(field: string, value: string, { max, required = true }: { max: number; required?: boolean }): this {
    if (value.length === 0) return this.that(!required, field, "must not be empty");
    return this.that(value.length <= max, field, `must be at most ${max} characters`);
  }

  intRange(field: string, value: number, min: number, max: number): this {
    return this.that(
      Number.isInteger(value) && value >= min && value <= max,
      field,
      `must be between ${min} and ${max}`,
    );
  }

  /** A list page size: 0 picks the default, otherwise 1..max. */
  pageSize(field: string, value: number, max = 100): this {
    return this.that(value >= 0 && value <= max, field, `must be between 0 and ${max}`);
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  done(): void {
    if (this.failed) throw new InvalidArgumentError(this.violations);
  }
}

/** What no stored or echoed string may hold: PostgreSQL text cannot store U+0000. */
const NUL = "\u0000";
/** In a `u` regular expression a surrogate matches only when it is not half of a pair: not well-formed UTF-16. */
const LONE_SURROGATE = /\p{Surrogate}/u;

function textViolation(value: string): string | undefined {
  if (value.includes(NUL)) return "must not contain the character U+0000 (NUL)";
  if (LONE_SURROGATE.test(value)) return "must be well-formed Unicode (it holds a lone surrogate)";
  return undefined;
}

/**
 * Every string of `message`, nested messages, lists and map keys and values included, that a service could not
 * store or pass on unchanged: one holding U+0000 (PostgreSQL text refuses it) or a lone surrogate (not
 * well-formed UTF-16; protobuf's UTF-8 encoding would silently replace it). Each violation names the field by
 * its path, e.g. `tour.title`, `tags[2]` or `labels["key"]`.
 */
export function textContentViolations(
  schema: DescMessage,
  message: MessageShape<DescMessage>,
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  collectTextViolations(reflect(schema, message), buildPath(schema), violations);
  return violations;
}

function collectTextViolations(
  message: ReflectMessage,
  path: PathBuilder,
  violations: FieldViolation[],
): void {
  const check = (value: unknown, at: PathBuilder) => {
    if (typeof value !== "string") return;
    const description = textViolation(value);
    if (description) violations.push({ field: pathToString(at.toPath()), description });
  };
  const visit = (value: unknown, at: PathBuilder) => {
    if (isReflectMessage(value)) collectTextViolations(value, at, violations);
    else check(value, at);
  };
  for (const field of message.fields) {
    if (field.fieldKind === "enum" || !message.isSet(field)) continue;
    const at = path.clone().field(field);
    switch (field.fieldKind) {
      case "scalar":
        check(message.get(field), at);
        break;
      case "message":
        collectTextViolations(message.get(field), at, violations);
        break;
      case "list": {
        let index = 0;
        for (const item of message.get(field)) visit(item, at.clone().list(index++));
        break;
      }
      case "map":
        for (const [key, value] of message.get(field)) {
          const entry = at.clone().map(key as string | number | bigint | boolean);
          check(key, entry);
          visit(value, entry);
        }
        break;
    }
  }
}
