/**
 * The API reference as the gateway serves it at /docs, against the whole stack: the page and its files, the
 * document with this gateway as its server, and every method's example request sent as the page's "Try it out"
 * sends it, with a real token for signed-in methods. Each succeeds, or fails with a code its description
 * documents.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Stack, startStack } from "@tourmesh/stack";
import { apiDocsContentSecurityPolicy } from "./api-docs.js";

interface Operation {
  description?: string;
  security: Array<Record<string, string[]>>;
  requestBody: { content: { "application/json": { example: unknown } } };
}
interface ServedDocument {
  info: { description: string };
  servers: Array<{ url: string }>;
  paths: Record<string, { post: Operation }>;
}

/**
 * What each example does on a fresh stack, in the order they are sent: SignIn gives alice's token, and alice's
 * review of the Louvre tour is accepted once her booking of it is confirmed. The examples' booking id and tour
 * id are made up (ids are the service's to choose), so GetBooking, CancelBooking, UpdateTour and
 * GetTourOccupancy find nothing. Tour management is tried as olga, an operator.
 */
const expected: Array<[procedure: string, outcome: "ok" | "not_found"]> = [
  ["/tourmesh.identity.v1.IdentityService/SignIn", "ok"],
  ["/tourmesh.catalog.v1.CatalogService/ListTours", "ok"],
  ["/tourmesh.catalog.v1.CatalogService/GetTour", "ok"],
  ["/tourmesh.catalog.v1.CatalogService/CreateTour", "ok"],
  ["/tourmesh.catalog.v1.CatalogService/UpdateTour", "not_found"],
  ["/tourmesh.catalog.v1.CatalogService/GetTourOccupancy", "not_found"],
  ["/tourmesh.catalog.v2.CatalogService/ListTours", "ok"],
  ["/tourmesh.catalog.v2.CatalogService/GetTour", "ok"],
  ["/tourmesh.catalog.v2.CatalogService/CreateTour", "ok"],
  ["/tourmesh.catalog.v2.CatalogService/UpdateTour", "not_found"],
  ["/tourmesh.catalog.v2.CatalogService/GetTourOccupancy", "not_found"],
  ["/tourmesh.booking.v1.BookingService/QuotePrice", "ok"],
  ["/tourmesh.booking.v1.BookingService/CreateBooking", "ok"],
  ["/tourmesh.booking.v1.BookingService/ListBookings", "ok"],
  ["/tourmesh.booking.v1.BookingService/GetBooking", "not_found"],
  ["/tourmesh.booking.v1.BookingService/CancelBooking", "not_found"],
  ["/tourmesh.review.v1.ReviewService/CreateReview", "ok"],
  ["/tourmesh.review.v1.ReviewService/ListReviews", "ok"],
  ["/tourmesh.notification.v1.NotificationService/ListNotifications", "ok"],
];

/** The methods for tour operators, whose scope (tours:write) a traveller's token lacks. */
const operatorMethods = new Set([
  "/tourmesh.catalog.v1.CatalogService/CreateTour",
  "/tourmesh.catalog.v1.CatalogService/UpdateTour",
  "/tourmesh.catalog.v1.CatalogService/GetTourOccupancy",
  "/tourmesh.catalog.v2.CatalogService/CreateTour",
  "/tourmesh.catalog.v2.CatalogService/UpdateTour",
  "/tourmesh.catalog.v2.CatalogService/GetTourOccupancy",
]);

describe("the API reference at /docs, tried against the whole stack", () => {
  let stack: Stack;
  let document: ServedDocument;
  before(async () => {
    // The whole stack on a busy machine: identity's password hashing alone can take tens of seconds.
    stack = await startStack({ prefix: "docs", readyTimeoutMs: 180_000 });
    document = (await (await fetch(`${stack.gatewayUrl}/docs/openapi.json`)).json()) as ServedDocument;
  });
  after(async () => {
    await stack?.stop();
  });

  it("serves the page, Swagger UI and the document from the gateway, under a strict CSP", async () => {
    const page = await fetch(`${stack.gatewayUrl}/docs`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-security-policy"), apiDocsContentSecurityPolicy);
    const html = await page.text();
    const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, path]) => path as string);
    assert.deepEqual(files.sort(), [
      "/docs/favicon.png",
      "/docs/swagger-ui-bundle.js",
      "/docs/swagger-ui.css",
      "/docs/try-it-out.js",
    ]);
    for (const file of files) {
      const answer = await fetch(`${stack.gatewayUrl}${file}`);
      assert.equal(answer.status, 200, file);
      assert.ok((await answer.arrayBuffer()).byteLength > 200, file);
    }
    assert.deepEqual(document.servers, [{ url: "/", description: "this gateway" }]);
    assert.match(document.info.description, /IdentityService\/SignIn/);
  });

  it("runs every method's example: each succeeds or fails as its description says", async () => {
    assert.deepEqual(
      expected.map(([procedure]) => procedure).sort(),
      Object.keys(document.paths).sort(),
      "an outcome for every documented method",
    );
    const operatorToken = (
      (await (
        await fetch(`${stack.gatewayUrl}/tourmesh.identity.v1.IdentityService/SignIn`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "olga", password: "tourmesh-demo" }),
        })
      ).json()) as { accessToken: string }
    ).accessToken;
    let token: string | undefined;
    for (const [procedure, outcome] of expected) {
      const operation = document.paths[procedure]?.post;
      assert.ok(operation, procedure);
      const signedIn = operation.security.length > 0;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (signedIn) {
        assert.ok(token, `${procedure} needs SignIn's token`);
        headers.authorization = `Bearer ${operatorMethods.has(procedure) ? operatorToken : token}`;
      }
      const answer = await fetch(`${stack.gatewayUrl}${procedure}`, {
        method: "POST",
        headers,
        body: JSON.stringify(operation.requestBody.content["application/json"].example),
      });
      const body = (await answer.json()) as { accessToken?: string; code?: string };
      if (outcome === "ok") {
        assert.equal(answer.status, 200, `${procedure}: ${JSON.stringify(body)}`);
      } else {
        assert.equal(body.code, outcome, `${procedure}: ${JSON.stringify(body)}`);
        assert.ok(
          operation.description?.includes(outcome.toUpperCase()),
          `${procedure} documents ${outcome}`,
        );
      }
      if (procedure.endsWith("/SignIn")) token = body.accessToken;
      if (signedIn) {
        const anonymous = await fetch(`${stack.gatewayUrl}${procedure}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        assert.equal(anonymous.status, 401, `${procedure} without a token`);
      }
    }
  });
});
