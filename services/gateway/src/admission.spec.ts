import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { RetryInfoSchema } from "@tourmesh/gen/google/rpc/error_details_pb.js";
import { EchoService } from "@tourmesh/gen/tourmesh/testing/v1/echo_pb.js";
import { admission } from "./admission.js";

/** An echo server behind the admission interceptor whose answers wait until the test lets them go. */
function heldEchoes(maxInFlight: number) {
  const waiting: Array<() => void> = [];
  const transport = createRouterTransport(
    (router) =>
      router.service(EchoService, {
        echo: async ({ message }) => {
          await new Promise<void>((resolve) => waiting.push(resolve));
          return { message };
        },
      }),
    { router: { interceptors: [admission(maxInFlight, (procedure) => procedure.includes("Echo"))] } },
  );
  const releaseAll = () => {
    for (const release of waiting.splice(0)) release();
  };
  return { client: createClient(EchoService, transport), waiting, releaseAll };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("admission at the edge", () => {
  it("refuses a call beyond the bound at once with UNAVAILABLE and when to retry, and lets it in again later", async () => {
    const { client, waiting, releaseAll } = heldEchoes(2);
    const admitted = [client.echo({ message: "a" }), client.echo({ message: "b" })];
    await settle();
    assert.equal(waiting.length, 2);

    const refused = await client.echo({ message: "c" }).then(
      () => assert.fail("a third call was let in"),
      (error: unknown) => ConnectError.from(error),
    );
    assert.equal(refused.code, Code.Unavailable);
    assert.match(refused.rawMessage, /at capacity \(2 calls in flight\)/);
    assert.equal(refused.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds, 1n);
    assert.equal(waiting.length, 2, "the refused call never reached the service");

    releaseAll();
    assert.deepEqual(
      (await Promise.all(admitted)).map((answer) => answer.message),
      ["a", "b"],
    );
    const again = client.echo({ message: "d" });
    await settle();
    releaseAll();
    assert.equal((await again).message, "d");
  });

  it("counts a call that failed as finished", async () => {
    const transport = createRouterTransport(
      (router) =>
        router.service(EchoService, {
          echo: () => {
            throw new ConnectError("no", Code.InvalidArgument);
          },
        }),
      { router: { interceptors: [admission(1, () => true)] } },
    );
    const client = createClient(EchoService, transport);
    for (let call = 0; call < 3; call++) {
      const error = await client.echo({ message: "x" }).catch((caught: unknown) => ConnectError.from(caught));
      assert.equal((error as ConnectError).code, Code.InvalidArgument);
    }
  });
});
