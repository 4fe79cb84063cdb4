import type { MessageInitShape } from "@bufbuild/protobuf";
import { createRegistry, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import type {
  ServerReflection,
  ServerReflectionRequest,
  ServerReflectionResponseSchema,
} from "@tourmesh/gen/grpc/reflection/v1/reflection_pb.js";

type Answer = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

function withDependencies(file: DescFile, files = new Map<string, DescFile>()): Map<string, DescFile> {
  if (files.has(file.name)) return files;
  files.set(file.name, file);
  for (const dependency of file.dependencies) withDependencies(dependency, files);
  return files;
}

/**
 * gRPC server reflection (grpc.reflection.v1) over Connect, which has none built in: lists `services` and
 * hands out their descriptors, so that `buf curl` and `grpcurl` need no .proto files. The internal services
 * get theirs from @grpc/reflection, which only plugs into grpc-js.
 */
export function reflectionImplementation(
  services: readonly DescService[],
): Partial<ServiceImpl<typeof ServerReflection>> {
  const files = new Map<string, DescFile>();
  for (const service of services) withDependencies(service.file, files);
  const registry = createRegistry(...files.values());
  const encoded = new Map(
    [...files.values()].map((file) => [file.name, toBinary(FileDescriptorProtoSchema, file.proto)] as const),
  );

  /** The file and all it imports, the file first, as reflection clients expect. */
  const descriptors = (file: DescFile): Answer => ({
    case: "fileDescriptorResponse",
    value: {
      fileDescriptorProto: [...withDependencies(file).keys()].flatMap((name) => encoded.get(name) ?? []),
    },
  });
  const notFound = (what: string): Answer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  });

  function fileDefining(symbol: string): DescFile | undefined {
    const found = registry.get(symbol);
    if (found !== undefined) return found.file;
    // A method, "package.Service.Method", is not a registry entry of its own.
    const service = registry.getService(symbol.slice(0, symbol.lastIndexOf(".")));
    return service?.methods.some((method) => `${service.typeName}.${method.name}` === symbol)
      ? service.file
      : undefined;
  }

  function answer(request: ServerReflectionRequest): Answer {
    const asked = request.messageRequest;
    switch (asked.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: services.map((service) => ({ name: service.typeName })) },
        };
      case "fileByFilename": {
        const file = files.get(asked.value);
        return file ? descriptors(file) : notFound(`file ${asked.value}`);
      }
      case "fileContainingSymbol": {
        const file = fileDefining(asked.value);
        return file ? descriptors(file) : notFound(`symbol ${asked.value}`);
      }
      case "fileContainingExtension":
      case "allExtensionNumbersOfType":
        return notFound("extension"); // the public API declares no extensions
      default:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" },
        };
    }
  }

  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(request) };
      }
    },
  };
}
