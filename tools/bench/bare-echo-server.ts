// The baseline: the Echo service on plain grpc-js with protobuf-es (de)serialisation and nothing else on its
// calls — no deadlines, logs, metrics, traces or reflection. It serves gRPC health beside it only so that the
// launcher can tell when it is ready, as it does for every service; an Echo call never touches it.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type EchoRequest,
  EchoRequestSchema,
  EchoResponseSchema,
} from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { HealthImplementation } from "grpc-health-check";

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const server = new grpc.Server();
server.addService(
  {
    echo: {
      path: "/tourmesh.testing.v1.EchoService/Echo",
      requestStream: false,
      responseStream: false,
      requestSerialize: (message: EchoRequest) => toBuffer(toBinary(EchoRequestSchema, message)),
      requestDeserialize: (bytes: Buffer) => fromBinary(EchoRequestSchema, bytes),
      responseSerialize: (message: EchoRequest) =>
        toBuffer(toBinary(EchoResponseSchema, { ...message, $typeName: "tourmesh.testing.v1.EchoResponse" })),
      responseDeserialize: (bytes: Buffer) => fromBinary(EchoResponseSchema, bytes),
    },
  },
  {
    echo: (call: grpc.ServerUnaryCall<EchoRequest, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, call.request),
  },
);
new HealthImplementation({ "": "SERVING" }).addToServer(server);
server.bindAsync(
  `127.0.0.1:${process.env.PORT ?? 0}`,
  grpc.ServerCredentials.createInsecure(),
  (error, port) => {
    if (error) throw error;
    console.log(JSON.stringify({ msg: "serving", grpc_port: port }));
  },
);
process.once("SIGTERM", () => server.forceShutdown());
