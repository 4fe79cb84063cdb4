/**
 * JSON Schemas (the 2020-12 dialect of OpenAPI 3.1) for protobuf messages in the canonical proto3 JSON mapping,
 * as Connect's JSON codec writes them: fields under their JSON names (lowerCamelCase), 64-bit integers as
 * decimal strings, enums by value name, bytes as base64, and the well-known types in their special forms
 * (Timestamp as an RFC 3339 string, Duration as "1.5s", FieldMask as "a,b.c", wrappers as their bare value).
 */
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  ScalarType,
} from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import type { Oas3_1Schema } from "@redocly/openapi-core";

/** A schema, or a reference to one by `$ref`. */
export type Schema = Oas3_1Schema;

/** A comment from the proto source, as Markdown: its lines trimmed of the space after `//`. */
export function commentOf(desc: Parameters<typeof getComments>[0]): string | undefined {
  const text = getComments(desc).leading;
  if (text === undefined) return undefined;
  const lines = text.split("\n").map((line) => line.replace(/^ /, "").trimEnd());
  while (lines.at(-1) === "") lines.pop();
  return lines.length === 0 ? undefined : lines.join("\n");
}

function withDescription(schema: Schema, description: string | undefined): Schema {
  return description === undefined ? schema : { ...schema, description };
}

const int64Pattern = "^-?[0-9]+$";
const uint64Pattern = "^[0-9]+$";

function scalarSchema(scalar: ScalarType): Oas3_1Schema {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: int64Pattern };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: uint64Pattern };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

/** The well-known types whose JSON form is not an object of their fields. */
const wellKnownSchemas: Readonly<Record<string, Oas3_1Schema>> = {
  "google.protobuf.Timestamp": {
    type: "string",
    format: "date-time",
    description: "An RFC 3339 date-time in UTC, e.g. 2026-05-01T09:30:00Z.",
  },
  "google.protobuf.Duration": {
    type: "string",
    pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
    description: 'Seconds with up to 9 decimal places and the suffix "s", e.g. "1.500s".',
  },
  "google.protobuf.FieldMask": {
    type: "string",
    description: 'Field paths in lowerCamelCase, separated by commas, e.g. "title,startTime".',
  },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.ListValue": { type: "array", items: {} },
  "google.protobuf.Value": { description: "Any JSON value." },
  "google.protobuf.Empty": { type: "object", properties: {} },
  "google.protobuf.Any": {
    type: "object",
    required: ["@type"],
    properties: { "@type": { type: "string", description: "type.googleapis.com/ and the full type name" } },
    additionalProperties: true,
  },
};

const wrapperNames = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map(
    (kind) => `google.protobuf.${kind}Value`,
  ),
);

/** A schema's name under `#/components/schemas/`: the full protobuf name, e.g. `tourmesh.catalog.v1.Tour`. */
export const schemaRef = (typeName: string): Schema => ({
  $ref: `#/components/schemas/${typeName}`,
});

/**
 * Collects the schemas of messages and enums as fields reference them: call `message()` for each root, then
 * read `schemas` for `components.schemas`.
 */
export class SchemaCollector {
  readonly schemas: Record<string, Oas3_1Schema> = {};

  /** A reference to the message's schema, adding it (and all it references) to `schemas`. */
  message(desc: DescMessage): Schema {
    const special = this.wellKnown(desc);
    if (special !== undefined) return special;
    if (!(desc.typeName in this.schemas)) {
      const schema: Oas3_1Schema = { type: "object", title: desc.name, properties: {} };
      this.schemas[desc.typeName] = schema;
      const properties: Record<string, Schema> = {};
      for (const field of desc.fields) properties[field.jsonName] = this.field(field);
      schema.properties = properties;
      const description = [commentOf(desc), ...desc.oneofs.map(oneofNote)].filter(Boolean).join("\n\n");
      if (description !== "") schema.description = description;
    }
    return schemaRef(desc.typeName);
  }

  private wellKnown(desc: DescMessage): Oas3_1Schema | undefined {
    const special = wellKnownSchemas[desc.typeName];
    if (special !== undefined) return special;
    if (!wrapperNames.has(desc.typeName)) return undefined;
    const value = desc.fields[0];
    if (value?.fieldKind !== "scalar") throw new Error(`${desc.typeName} is not a wrapper`);
    const bare = scalarSchema(value.scalar);
    return { ...bare, type: [String(bare.type), "null"] };
  }

  private enumeration(desc: DescEnum): Schema {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!(desc.typeName in this.schemas)) {
      const values = desc.values.map((value) => {
        const comment = commentOf(value);
        return comment === undefined ? `- \`${value.name}\`` : `- \`${value.name}\`: ${comment}`;
      });
      this.schemas[desc.typeName] = {
        type: "string",
        title: desc.name,
        enum: desc.values.map((value) => value.name),
        description: [commentOf(desc), values.join("\n")].filter(Boolean).join("\n\n"),
      };
    }
    return schemaRef(desc.typeName);
  }

  private single(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumeration(field.enum)
                : this.message(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumeration(field.enum)
                : this.message(field.message),
        };
    }
  }

  private field(field: DescField): Schema {
    const schema = withDescription(this.single(field), commentOf(field));
    return field.deprecated ? { ...schema, deprecated: true } : schema;
  }
}

/** The rule a oneof adds to its message, in words (JSON Schema cannot say "at most one of" without noise). */
function oneofNote(oneof: DescOneof): string {
  return `At most one of ${oneof.fields.map((field) => `\`${field.jsonName}\``).join(", ")} is set.`;
}
