/**
 * fast-check arbitraries for any request message, built from its descriptor alone: a field of each type gets
 * valid-looking values (known ids and words, small numbers), edge values (empty, huge, negative, extremes)
 * and hostile ones (U+0000, lone surrogates, bidi controls, 100 kB strings, NaN); and bytes that are not a
 * valid encoding of it at all. A message type added later is covered with no change here.
 */
import {
  create,
  type DescField,
  type DescMessage,
  type MessageShape,
  ScalarType,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import fc from "fast-check";

/** What a fuzzed call sends: a message (encoded for the protocol used) or bytes as they are. */
export type RequestPayload =
  | { kind: "message"; message: MessageShape<DescMessage> }
  | { kind: "bytes"; bytes: Uint8Array; json: boolean };

const HUGE = 100_000;
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n };

/** Pieces that have broken text handling somewhere: stored, compared, logged, or sent on. */
const HOSTILE_PIECES = [
  "\u0000", // PostgreSQL text cannot hold it
  "\ud800", // a lone high surrogate
  "\udfff", // a lone low surrogate
  "\u202e", // right-to-left override
  "\u200f", // right-to-left mark
  "\ufeff", // byte order mark
  "\u0085", // next line
  "\u2028", // line separator
  "e\u0301", // a combining accent
  "👩‍👩‍👧", // a grapheme of several code points
  "%s%n%x",
  "' OR '1'='1' --",
  "../../etc/passwd",
  "{{7*7}}",
  "\r\nset-cookie: x=1",
];

/** Strings worth trying: `any` for any string field, `byField` for a field of that name (e.g. `tour_id`). */
export interface KnownStrings {
  any: readonly string[];
  byField: Readonly<Record<string, readonly string[]>>;
}

/**
 * Where values come from: `known` strings; `plausible` keeps every field to values a well-behaved client might
 * send, so that whole messages get past validation to the code behind it, which a message with one wild
 * field in five rarely does.
 */
export interface ValuePool {
  known: KnownStrings;
  plausible: boolean;
}

/** Strings for a field named `fieldName`: mostly plausible, often edge or hostile, now and then enormous. */
function stringArbitrary(
  { known, plausible: plausibleOnly }: ValuePool,
  fieldName?: string,
): fc.Arbitrary<string> {
  const named = fieldName === undefined ? [] : (known.byField[fieldName] ?? []);
  const plausible = fc.oneof(
    ...(named.length > 0 ? [{ arbitrary: fc.constantFrom(...named), weight: 8 }] : []),
    ...(known.any.length > 0 ? [{ arbitrary: fc.constantFrom(...known.any), weight: 4 }] : []),
    { arbitrary: fc.uuid(), weight: 1 },
    { arbitrary: plausibleOnly ? fc.constant("") : fc.string({ maxLength: 20 }), weight: 1 },
  );
  if (plausibleOnly) return plausible;
  const hostile = fc
    .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...HOSTILE_PIECES), plausible)
    .map(([before, piece, after]) => before + piece + after);
  return fc.oneof(
    { arbitrary: plausible, weight: 5 },
    { arbitrary: hostile, weight: 3 },
    { arbitrary: fc.constantFrom("", " ", "0", "-1", "null", "NaN"), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
    {
      arbitrary: fc.constantFrom("x", "é", "👍", "\u0000").map((unit) => unit.repeat(HUGE / unit.length)),
      weight: 1,
    },
  );
}

function int32Arbitrary(plausible: boolean): fc.Arbitrary<number> {
  if (plausible) return fc.integer({ min: 0, max: 10 });
  return fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 10 }), weight: 5 },
    { arbitrary: fc.constantFrom(-1, 0, 1, 100, 101, INT32.min, INT32.max), weight: 3 },
    { arbitrary: fc.integer(INT32), weight: 2 },
  );
}

function bigIntArbitrary(range: { min: bigint; max: bigint }, plausible: boolean): fc.Arbitrary<bigint> {
  if (plausible) return fc.bigInt({ min: 0n, max: 100_000n });
  return fc.oneof(
    { arbitrary: fc.bigInt({ min: 0n, max: 100_000n }), weight: 5 },
    { arbitrary: fc.constantFrom(range.min, range.max, 0n, range.min === 0n ? 1n : -1n), weight: 3 },
    { arbitrary: fc.bigInt(range), weight: 2 },
  );
}

function scalarArbitrary(type: ScalarType, pool: ValuePool, fieldName?: string): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return stringArbitrary(pool, fieldName);
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return pool.plausible
        ? fc.double({ min: 0, max: 5, noNaN: true })
        : fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return bigIntArbitrary(INT64, pool.plausible);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return bigIntArbitrary(UINT64, pool.plausible);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return int32Arbitrary(pool.plausible).map((value) => value >>> 0);
    default:
      return int32Arbitrary(pool.plausible);
  }
}

/** The value of one field, in protobuf-es's init shape. */
function fieldArbitrary(field: DescField, pool: ValuePool, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArbitrary(field.scalar, pool, field.name);
    case "enum":
      // Open enums take unknown numbers too.
      return fc.oneof(
        fc.constantFrom(...field.enum.values.map((value) => value.number)),
        ...(pool.plausible ? [] : [int32Arbitrary(false)]),
      );
    case "message":
      return messageInitArbitrary(field.message, pool, depth + 1);
    case "list":
      return fc.array(
        field.listKind === "scalar"
          ? scalarArbitrary(field.scalar, pool)
          : field.listKind === "enum"
            ? fc.constantFrom(...field.enum.values.map((value) => value.number))
            : messageInitArbitrary(field.message, pool, depth + 1),
        { maxLength: 4 },
      );
    case "map":
      return fc
        .array(
          fc.tuple(
            scalarArbitrary(field.mapKey, pool),
            field.mapKind === "scalar"
              ? scalarArbitrary(field.scalar, pool)
              : field.mapKind === "enum"
                ? fc.constantFrom(...field.enum.values.map((value) => value.number))
                : messageInitArbitrary(field.message, pool, depth + 1),
          ),
          { maxLength: 3 },
        )
        .map((entries) => Object.fromEntries(entries.map(([key, value]) => [String(key), value])));
  }
}

/** Nested messages stop at this depth (left unset), so recursive types stay finite. */
const MAX_DEPTH = 3;

/** An init object for `desc`: each field set or left at its default, oneofs one case at a time. */
export function messageInitArbitrary(
  desc: DescMessage,
  pool: ValuePool,
  depth = 0,
): fc.Arbitrary<Record<string, unknown>> {
  if (depth >= MAX_DEPTH) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      parts[member.localName] = fc.oneof(
        fc.constant(undefined),
        ...member.fields.map((field) =>
          fieldArbitrary(field, pool, depth).map((value) => ({ case: field.localName, value })),
        ),
      );
    } else {
      parts[member.localName] = fieldArbitrary(member, pool, depth);
    }
  }
  return fc.record(parts, { requiredKeys: [] });
}

/** A string field of `desc` at the top level, for planting bytes that are not UTF-8 where a string belongs. */
function firstStringField(desc: DescMessage): DescField | undefined {
  return desc.fields.find((field) => field.fieldKind === "scalar" && field.scalar === ScalarType.STRING);
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

/** Bytes that are not (or not quite) a binary encoding of `desc`. */
function malformedBinaryArbitrary(desc: DescMessage, pool: ValuePool): fc.Arbitrary<Uint8Array> {
  const valid = messageInitArbitrary(desc, pool).map((init) => toBinary(desc, create(desc, init)));
  const options: fc.Arbitrary<Uint8Array>[] = [
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    // A valid encoding, cut short.
    valid.chain((bytes) =>
      bytes.length < 2
        ? fc.constant(Uint8Array.of(0x0a, 0x05))
        : fc.integer({ min: 1, max: bytes.length - 1 }).map((end) => bytes.subarray(0, end)),
    ),
    // A valid encoding with one byte changed.
    valid.chain((bytes) =>
      bytes.length === 0
        ? fc.constant(Uint8Array.of(0xff))
        : fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
            const changed = Uint8Array.from(bytes);
            changed[at] = byte;
            return changed;
          }),
    ),
  ];
  const text = firstStringField(desc);
  if (text) {
    // A string field holding bytes that are not UTF-8 (a stray continuation byte, an encoded surrogate, ...).
    const notUtf8 = fc.constantFrom(
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xff],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    );
    options.push(
      notUtf8.map((bytes) => Uint8Array.from([(text.number << 3) | 2, ...varint(bytes.length), ...bytes])),
    );
  }
  return fc.oneof(...options);
}

/** Text that is not (or not quite) a JSON encoding of `desc`. */
function malformedJsonArbitrary(desc: DescMessage, pool: ValuePool): fc.Arbitrary<Uint8Array> {
  const encoder = new TextEncoder();
  const valid = messageInitArbitrary(desc, pool).map((init) => {
    try {
      return toJsonString(desc, create(desc, init));
    } catch {
      return "{}";
    }
  });
  return fc.oneof(
    fc.json().map((json) => encoder.encode(json)),
    valid.chain((json) =>
      fc
        .integer({ min: 0, max: Math.max(0, json.length - 1) })
        .map((end) => encoder.encode(json.slice(0, end))),
    ),
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(Uint8Array.from([...encoder.encode('{"x":"'), 0xc3, 0x28, ...encoder.encode('"}')])),
  );
}

/** What a fuzzed call of a method with input `desc` sends; `known` as in ValuePool. */
export function requestPayloadArbitrary(
  desc: DescMessage,
  known: KnownStrings,
): fc.Arbitrary<RequestPayload> {
  const wild: ValuePool = { known, plausible: false };
  const message = (pool: ValuePool) =>
    messageInitArbitrary(desc, pool).map(
      (init): RequestPayload => ({ kind: "message", message: create(desc, init) }),
    );
  return fc.oneof(
    { weight: 2, arbitrary: message({ known, plausible: true }) },
    { weight: 3, arbitrary: message(wild) },
    {
      weight: 1,
      arbitrary: malformedBinaryArbitrary(desc, wild).map(
        (bytes): RequestPayload => ({ kind: "bytes", bytes, json: false }),
      ),
    },
    {
      weight: 1,
      arbitrary: malformedJsonArbitrary(desc, wild).map(
        (bytes): RequestPayload => ({ kind: "bytes", bytes, json: true }),
      ),
    },
  );
}
