/**
 * `npm run screenshots`: pictures of the web app's main pages for docs/images/, taken in Chromium against
 * the whole stack on free ports (see browser/web-stack.ts), after playing what they show: alice signs in,
 * gets a quote, books one tour, and books another while payment is down; and the API reference at /docs.
 */
import { mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import type { Page } from "playwright-core";
import { launchChromium } from "./browser/chromium.js";
import { startWebStack } from "./browser/web-stack.js";

const imagesDir = join(import.meta.dirname, "..", "docs", "images");
mkdirSync(imagesDir, { recursive: true });

const stack = await startWebStack("drop");
const browser = await launchChromium({ width: 1100, height: 720 });
try {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  const shoot = async (name: string, target: Page = page, fullPage = true) => {
    const path = join(imagesDir, `${name}.png`);
    await target.screenshot({ path, fullPage });
    console.log(`wrote ${relative(process.cwd(), path)}`);
  };
  const openTour = async (title: string) => {
    await page.getByLabel("Destination").fill("Paris");
    await page.waitForURL(/destination=Paris/);
    await page.getByRole("link", { name: title, exact: true }).click();
    await page.getByRole("heading", { name: title, level: 1 }).waitFor();
  };

  await page.goto(`${stack.gatewayUrl}/`);
  await page.getByRole("list", { name: "Tours" }).getByRole("link").first().waitFor();
  await shoot("tours");

  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("tourmesh-demo");
  await shoot("sign-in");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();

  await openTour("Louvre Highlights");
  await page.getByLabel("Travellers").fill("6");
  await page.getByLabel("Country").selectOption("DE");
  await page.getByLabel("Promo code").fill("WELCOME5");
  await page.getByRole("button", { name: "Get quote" }).click();
  await page.locator("dl.quote").waitFor();
  await shoot("tour-quote");

  await page.getByLabel("Promo code").fill("NOPE");
  await page.getByRole("button", { name: "Get quote" }).click();
  await page.locator("[aria-invalid=true]").waitFor();
  await shoot("tour-bad-promo");

  await page.getByLabel("Promo code").fill("WELCOME5");
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await page.getByText("Confirmed", { exact: true }).first().waitFor();

  const faults = createClient(
    PaymentFaultService,
    createGrpcTransport({ baseUrl: `http://${stack.address("payment")}` }),
  );
  await faults.setFaults({ outage: true });
  try {
    await page.getByRole("link", { name: "Tours", exact: true }).click();
    await openTour("Montmartre Walk");
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.getByText("Pending payment", { exact: true }).waitFor();
    await shoot("bookings");
  } finally {
    await faults.setFaults({ outage: false });
  }
  await page.getByText("Pending payment", { exact: true }).waitFor({ state: "detached", timeout: 60_000 });

  await page.getByRole("link", { name: "Notifications" }).click();
  await page.getByRole("list", { name: "Notifications" }).getByText("Booking confirmed").first().waitFor();
  await shoot("notifications");

  // The top of the reference: how to try it, and the first services (the schemas below run for pages).
  await page.setViewportSize({ width: 1100, height: 1000 });
  await page.goto(`${stack.gatewayUrl}/docs`);
  await page.locator(".opblock").first().waitFor();
  await shoot("api-docs", page, false);
} finally {
  await browser.close();
  await stack.stop();
}
