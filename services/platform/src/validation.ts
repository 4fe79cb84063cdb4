import { type DescMessage, type MessageShape, ScalarType } from "@bufbuild/protobuf";
import {
  isReflectMessage,
  type Path,
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
  if (holdsText(schema)) collectTextViolations(reflect(schema, message), [], violations);
  return violations;
}

/** Whether a message of this type can hold a string at all, nested ones included; remembered per type. */
const textHolders = new WeakMap<DescMessage, boolean>();
function holdsText(desc: DescMessage, visiting?: Set<DescMessage>): boolean {
  const known = textHolders.get(desc);
  if (known !== undefined) return known;
  return decideHoldsText(desc, visiting ?? new Set());
}

function decideHoldsText(desc: DescMessage, visiting: Set<DescMessage>): boolean {
  // A type met again while deciding (a recursive type) adds nothing new to the answer.
  if (visiting.has(desc)) return false;
  visiting.add(desc);
  const holds = desc.fields.some((field) => {
    switch (field.fieldKind) {
      case "scalar":
        return field.scalar === ScalarType.STRING;
      case "message":
        return holdsText(field.message, visiting);
      case "list":
        return field.listKind === "scalar"
          ? field.scalar === ScalarType.STRING
          : field.listKind === "message" && holdsText(field.message, visiting);
      case "map":
        if (field.mapKey === ScalarType.STRING) return true;
        return field.mapKind === "scalar"
          ? field.scalar === ScalarType.STRING
          : field.mapKind === "message" && holdsText(field.message, visiting);
      default:
        return false;
    }
  });
  visiting.delete(desc);
  if (visiting.size === 0) textHolders.set(desc, holds);
  return holds;
}

/** A violation for `value` at the path `at()` makes, if the string is one no service can take. */
function checkText(value: unknown, at: () => Path, violations: FieldViolation[]): void {
  if (typeof value !== "string") return;
  const description = textViolation(value);
  if (description) violations.push({ field: pathToString(at()), description });
}

function visitText(value: unknown, at: () => Path, violations: FieldViolation[]): void {
  if (!isReflectMessage(value)) checkText(value, at, violations);
  else if (holdsText(value.desc)) collectTextViolations(value, at(), violations);
}

/** Walks `message`; `path` leads to it from the request, and a violation's field path is made only when found. */
function collectTextViolations(message: ReflectMessage, path: Path, violations: FieldViolation[]): void {
  for (const field of message.fields) {
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING) {
          // Per call and per string field: no allocation unless the string is at fault.
          const description = textViolation(message.get(field) as string);
          if (description) violations.push({ field: pathToString([...path, field]), description });
        }
        break;
      case "message":
        if (message.isSet(field) && holdsText(field.message)) {
          collectTextViolations(message.get(field), [...path, field], violations);
        }
        break;
      case "list": {
        let index = 0;
        for (const item of message.get(field)) {
          const at = index++;
          visitText(item, () => [...path, field, { kind: "list_sub", index: at }], violations);
        }
        break;
      }
      case "map":
        for (const [key, value] of message.get(field)) {
          const at = (): Path => [
            ...path,
            field,
            { kind: "map_sub", key: key as string | number | bigint | boolean },
          ];
          checkText(key, at, violations);
          visitText(value, at, violations);
        }
        break;
    }
  }
}
