/**
 * Imported first by the platform's index, before anything else loads @grpc/grpc-js.
 *
 * @opentelemetry/instrumentation-grpc patches grpc-js as it is *required*; an ESM `import` of a CommonJS
 * package bypasses that hook. So the instrumentation is registered here and grpc-js is then loaded once
 * through `require`: every later `import` of it gets that same, patched module from Node's cache. The spans
 * go to the global tracer provider, which `startTracing` sets once the service knows its name.
 */
import { createRequire } from "node:module";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";

registerInstrumentations({
  instrumentations: [
    new GrpcInstrumentation({
      // Health probes and reflection are noise in traces.
      ignoreGrpcMethods: [/^Check$/, /^Watch$/, /^ServerReflectionInfo$/],
    }),
  ],
});
createRequire(import.meta.url)("@grpc/grpc-js");
