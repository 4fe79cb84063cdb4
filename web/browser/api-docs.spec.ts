/**
 * The API reference page (/docs) in Chromium against the whole stack: Swagger UI loads from the gateway under
 * its CSP without an error, and trying SignIn on the page signs the page in, so that a signed-in method tried
 * next succeeds with the token SignIn gave.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Stack } from "@tourmesh/stack";
import { type Chromium, launchChromium } from "./chromium.js";
import { startWebStack } from "./web-stack.js";

describe("the API reference in Chromium, against the whole stack", { timeout: 10 * 60_000 }, () => {
  let stack: Stack;
  let browser: Chromium;
  before(
    async () => {
      stack = await startWebStack("drop");
      browser = await launchChromium();
    },
    { timeout: 5 * 60_000 },
  );
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("tries SignIn, then a signed-in method with its token", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${stack.gatewayUrl}/docs`);

    const operation = (method: string, path: string) =>
      page.locator(`.opblock-${method}`).filter({ has: page.locator(`[data-path="${path}"]`) });
    const tryIt = async (path: string) => {
      const block = operation("post", path);
      await block.locator(".opblock-summary-control").click();
      await block.getByRole("button", { name: "Execute" }).click();
      const status = block.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor();
      return status;
    };

    const signIn = await tryIt("/tourmesh.identity.v1.IdentityService/SignIn");
    assert.match((await signIn.textContent()) ?? "", /^\s*200/);
    await page.locator(".btn.authorize.locked").waitFor();

    const bookings = await tryIt("/tourmesh.booking.v1.BookingService/ListBookings");
    assert.match((await bookings.textContent()) ?? "", /^\s*200/);
    const sent = await operation("post", "/tourmesh.booking.v1.BookingService/ListBookings")
      .locator(".curl-command")
      .textContent();
    assert.match(sent ?? "", /Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+/);
    assert.deepEqual(errors, []);
  });
});
