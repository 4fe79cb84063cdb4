/**
 * protoc-gen-openapi: writes one OpenAPI 3.1 document for the Connect JSON API of our services in the request
 * (run it with `strategy: all`). buf runs a plugin once per input: an input without our services writes
 * nothing, so the document comes whole from the input that has them. Parameters, comma-separated:
 *   file=<name>       the document's file name (default openapi.json)
 *   title=<text>      info.title
 *   version=<text>    info.version
 *   license=<spdx>    info.license, by its SPDX identifier
 *   server=<url>      a base URL of the gateway; repeatable
 *   package=<name>    the services in this package and below it are documented (required)
 */
import { create, createFileRegistry } from "@bufbuild/protobuf";
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";
import { file_google_rpc_error_details } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { type DocumentOptions, exposedMethods, openApiDocument } from "./document.js";

function parseParameter(parameter: string): DocumentOptions & { file: string } {
  const options = {
    file: "openapi.json",
    title: "API",
    version: "1",
    license: "",
    servers: [] as string[],
    packagePrefix: "",
  };
  for (const pair of parameter.split(",").filter((part) => part !== "")) {
    const at = pair.indexOf("=");
    const [key, value] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
    switch (key) {
      case "file":
        options.file = value;
        break;
      case "title":
        options.title = value;
        break;
      case "version":
        options.version = value;
        break;
      case "license":
        options.license = value;
        break;
      case "server":
        options.servers.push(value);
        break;
      case "package":
        options.packagePrefix = value;
        break;
      default:
        throw new Error(`unknown parameter ${key}`);
    }
  }
  if (options.packagePrefix === "") throw new Error("the parameter package=<name> is required");
  if (options.license === "") throw new Error("the parameter license=<spdx> is required");
  return options;
}

export const protocGenOpenapi: Plugin = {
  name: "protoc-gen-openapi",
  version: "v1",
  run(request) {
    const options = parseParameter(request.parameter);
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
    const files = request.fileToGenerate.map((name) => {
      const file = registry.getFile(name);
      if (file === undefined) throw new Error(`${name} is to be generated but not in the request`);
      return file;
    });
    const supportedFeatures = BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL);
    if (exposedMethods(files, registry, options.packagePrefix).length === 0) {
      return create(CodeGeneratorResponseSchema, { supportedFeatures });
    }
    // The error details' schemas come from the generated google.rpc code: buf gives each input to a plugin
    // on its own, and google/rpc/error_details.proto is an input of its own, which our contracts never import.
    const document = openApiDocument(files, registry, file_google_rpc_error_details, options);
    return create(CodeGeneratorResponseSchema, {
      supportedFeatures,
      file: [{ name: options.file, content: `${JSON.stringify(document, null, 2)}\n` }],
    });
  },
};
