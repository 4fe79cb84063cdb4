/**
 * Every public method × every kind of caller, on the whole system: anonymous, alice (a traveller) and olga (an
 * operator), signed in by identity. Each method is called with its contract's example request, through the
 * gateway and then straight at the service that serves it, and must be let through exactly where its
 * declared access says: public, or a token that carries every scope the method requires. "Let through" means
 * the handler answered (OK, or its own NOT_FOUND, FAILED_PRECONDITION, ...); refused means UNAUTHENTICATED
 * or PERMISSION_DENIED before it ran.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type DescMethod, fromJsonString, getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { example_request } from "@tourmesh/gen/tourmesh/options/v1/example_pb.js";
import { createClient, methodAccess, scopesOf } from "@tourmesh/platform";
import { type ServiceName, type Stack, startStack } from "@tourmesh/stack";
import { decodeJwt } from "jose";
import { exposedServices } from "./public-api.js";

type Role = "anonymous" | "alice" | "olga";
const roles: readonly Role[] = ["anonymous", "alice", "olga"];

/** Whether the call reached its handler: anything but a refusal for who the caller is. */
async function letThrough(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return error.code !== Code.Unauthenticated && error.code !== Code.PermissionDenied;
  }
}

type AnyUnary = (request: unknown, options: { headers?: Record<string, string> }) => Promise<unknown>;

/** A client's call of `method`, whatever the client's service: the walk goes over every service at once. */
function unary(client: unknown, method: DescMethod): AnyUnary {
  const call = (client as Record<string, AnyUnary | undefined>)[method.localName];
  if (call === undefined) throw new Error(`the client has no ${method.name}`);
  return call;
}

/** What the contract says: public methods for anyone, signed-in ones for tokens with every required scope. */
function declaredAllowed(method: DescMethod, scopes: ReadonlySet<string> | undefined): boolean {
  const access = methodAccess(method);
  if (access.audience === "public") return true;
  if (access.audience === "internal" || scopes === undefined) return false;
  return access.scopes.every((scope) => scopes.has(scope));
}

describe("who may call each public method, through the gateway and at each service", () => {
  let stack: Stack;
  const tokens = new Map<Role, string>();

  before(async () => {
    stack = await startStack({
      services: ["identity", "catalog", "payment", "booking", "notification", "review", "gateway"],
      prefix: "access_walk",
    });
    const identity = createConnectClient(
      IdentityService,
      createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" }),
    );
    for (const username of ["alice", "olga"] as const) {
      const { accessToken } = await identity.signIn({ username, password: "tourmesh-demo" });
      tokens.set(username, accessToken);
    }
  });
  after(async () => {
    await stack?.stop();
  });

  const scopesOfRole = (role: Role) => {
    const token = tokens.get(role);
    return token === undefined ? undefined : scopesOf(decodeJwt(token).scope);
  };
  const headersOf = (role: Role): Record<string, string> => {
    const token = tokens.get(role);
    return token === undefined ? {} : { authorization: `Bearer ${token}` };
  };

  it("gives alice a traveller's scopes and olga an operator's", () => {
    const alice = scopesOfRole("alice");
    const olga = scopesOfRole("olga");
    assert.ok(alice?.has("bookings:write") && !alice.has("tours:write"));
    assert.ok(olga?.has("tours:write") && !olga.has("bookings:write"));
  });

  it("lets each role through exactly where the contract says", async () => {
    const transport = createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" });
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const { service, peer } of exposedServices) {
      const edge = createConnectClient(service, transport);
      const serviceName = peer.replace(/_ADDR$/, "").toLowerCase() as ServiceName;
      const direct = createClient(service, stack.address(serviceName), { retries: false });
      try {
        for (const method of service.methods) {
          if (methodAccess(method).audience === "internal") continue;
          const example = hasOption(method, example_request) ? getOption(method, example_request) : "{}";
          const request = fromJsonString(method.input, example);
          for (const role of roles) {
            const allowed = declaredAllowed(method, scopesOfRole(role));
            const headers = headersOf(role);
            const viaGateway = await letThrough(unary(edge, method)(request, { headers }));
            const atService = await letThrough(unary(direct, method)(request, { headers }));
            const name = `${service.name}.${method.name} as ${role}`;
            outcomes.push(`${name}: gateway ${viaGateway}, service ${atService}`);
            expected.push(`${name}: gateway ${allowed}, service ${allowed}`);
          }
        }
      } finally {
        direct.close();
      }
    }
    assert.deepEqual(outcomes, expected);
    // The walk covers both answers for each role that can sign in: not a walk that lets everything through.
    for (const role of ["alice", "olga"]) {
      assert.ok(
        expected.some((line) => line.includes(`as ${role}: gateway true`)),
        role,
      );
      assert.ok(
        expected.some((line) => line.includes(`as ${role}: gateway false`)),
        role,
      );
    }
  });
});
