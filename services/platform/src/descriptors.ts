import {
  create,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { MethodDefinition } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";

/** The unary methods of a protobuf-es service, by local name, with their input and output. Streaming
 *  methods (e.g. Health/Watch) are left out: the platform serves and calls unary methods only. */
export type UnaryMethods<S extends DescService> = {
  [M in keyof S["method"] as S["method"][M] extends { methodKind: "unary" }
    ? M
    : never]: S["method"][M] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? { input: I; output: O }
    : never;
};

/** The same bytes as a Buffer, copying nothing. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The grpc-js definition of one unary method: its path and protobuf-es (de)serialisers. */
export function grpcMethodDefinition(
  method: DescMethod,
): MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>> {
  if (method.methodKind !== "unary") {
    throw new Error(`${method.parent.typeName}/${method.name}: only unary methods are supported`);
  }
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => toBuffer(toBinary(method.input, message)),
    requestDeserialize: (bytes) => fromBinary(method.input, bytes),
    responseSerialize: (message) => toBuffer(toBinary(method.output, message)),
    responseDeserialize: (bytes) => fromBinary(method.output, bytes),
  };
}

export function createMessage<D extends DescMessage>(schema: D, init: MessageInitShape<D>): MessageShape<D> {
  return create(schema, init);
}

/**
 * A message already in its binary form, e.g. an answer kept in a cache. A handler may answer with one, and the
 * server sends its bytes as they are, building and encoding no message. `schema` names the message the bytes
 * are; the server answers INTERNAL rather than send the bytes of another message than its method's output.
 */
export class EncodedMessage<D extends DescMessage = DescMessage> {
  constructor(
    readonly schema: D,
    readonly bytes: Uint8Array,
  ) {}
}

function withDependencies(file: DescFile, seen = new Map<string, DescFile>()): Map<string, DescFile> {
  if (seen.has(file.name)) return seen;
  seen.set(file.name, file);
  for (const dependency of file.dependencies) withDependencies(dependency, seen);
  return seen;
}

/**
 * A package definition in the shape @grpc/reflection reads: per service, the serialized descriptors of its
 * file and everything that file imports, so reflection clients (grpcurl, buf curl) need no .proto files.
 */
export function reflectionPackageDefinition(services: readonly DescService[]): PackageDefinition {
  // Reflection reads only fileDescriptorProtos of each entry; the rest of proto-loader's shape is unused.
  return Object.fromEntries(
    services.map((service) => [
      service.typeName,
      {
        fileDescriptorProtos: [...withDependencies(service.file).values()].map((file) =>
          toBuffer(toBinary(FileDescriptorProtoSchema, file.proto)),
        ),
      } as unknown as PackageDefinition[string],
    ]),
  );
}
