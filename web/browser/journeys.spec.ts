/**
 * The web app in a real browser (Debian's Chromium) against the real stack: every service, Postgres and NATS,
 * the gateway serving the built app. One browser and one stack for the file; the journeys run in order, each
 * on tours of its own, and every page but the one whose network is cut on purpose must log no error.
 */
import * as assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BookingService } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import type { Stack } from "@tourmesh/stack";
import type { Page } from "playwright-core";
import { FIRST_LOAD_BUDGET_BYTES, firstLoadJavaScript } from "../build.js";
import { type Chromium, launchChromium } from "./chromium.js";
import { startWebStack } from "./web-stack.js";

/** What a page waits for at most: generous, as the services share two cores with everything else. */
const WAIT_MS = 30_000;
const JOURNEY_MS = 120_000;
const TOURS_LISTED_MARK = "tours-listed";

describe("the web app in Chromium, against the whole stack", { timeout: 15 * 60_000 }, () => {
  let stack: Stack;
  let browser: Chromium;
  const logLines: Array<{ service: string; entry: Record<string, unknown> }> = [];
  /** Errors logged by the pages watched since the last check. */
  const pageErrors: string[] = [];

  before(
    async () => {
      stack = await startWebStack((service, line) => {
        try {
          logLines.push({ service, entry: JSON.parse(line) as Record<string, unknown> });
        } catch {
          // A line that is not JSON (a crash trace) is not what these tests look for.
        }
      });
      browser = await launchChromium();
    },
    { timeout: 5 * 60_000 },
  );

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  afterEach(() => {
    const seen = pageErrors.splice(0);
    assert.deepEqual(seen, [], "no page logged an error");
  });

  async function open(path: string, { watch = true } = {}): Promise<Page> {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    if (watch) {
      page.on("console", (message) => {
        if (message.type() === "error") pageErrors.push(`${page.url()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    }
    await page.goto(`${stack.gatewayUrl}${path}`);
    return page;
  }

  async function signIn(page: Page, username = "alice"): Promise<void> {
    await page.getByRole("link", { name: "Sign in" }).click();
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill("tourmesh-demo");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  }

  async function openTour(page: Page, destination: string, title: string): Promise<void> {
    await page.getByLabel("Destination").fill(destination);
    await page.waitForURL(/destination=/);
    await page.getByRole("link", { name: title, exact: true }).click();
    await page.getByRole("heading", { name: title, level: 1 }).waitFor();
  }

  /** The card of the newest booking of a tour on My bookings. */
  const bookingCard = (page: Page, title: string) =>
    page
      .getByRole("listitem")
      .filter({ has: page.getByRole("link", { name: title, exact: true }) })
      .first();

  /** The API as alice sees it, straight through the gateway: what the app did, checked from outside. */
  async function alicesBookingsOf(tourId: string) {
    const transport = createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" });
    const { accessToken } = await createClient(IdentityService, transport).signIn({
      username: "alice",
      password: "tourmesh-demo",
    });
    const { bookings } = await createClient(BookingService, transport).listBookings(
      { pageSize: 100 },
      { headers: { authorization: `Bearer ${accessToken}` } },
    );
    return bookings.filter((booking) => booking.tourId === tourId);
  }

  const payment = () =>
    createClient(PaymentFaultService, createGrpcTransport({ baseUrl: `http://${stack.address("payment")}` }));

  it("ships at most the budget of JavaScript on first load, and lists tours after a cold load", async () => {
    const firstLoad = firstLoadJavaScript();
    console.log(`first-load JavaScript: ${(firstLoad.gzipBytes / 1000).toFixed(1)} kB gzip`);
    assert.ok(
      firstLoad.gzipBytes <= FIRST_LOAD_BUDGET_BYTES,
      `${firstLoad.gzipBytes} bytes of gzip JavaScript on first load; the budget is ${FIRST_LOAD_BUDGET_BYTES}`,
    );
    // The browser's first page (nothing cached) against a stack that has served nothing yet, then the same
    // with the browser's cache emptied against the stack now warm.
    for (const when of ["new browser, stack just started", "browser cache emptied, stack warm"]) {
      const page = await open("/");
      await page.getByRole("list", { name: "Tours" }).getByRole("link").first().waitFor();
      // Run as source text: tsx would wrap named functions in a helper that the page does not have.
      const timing = (await page.evaluate(`(() => {
        const resources = performance.getEntriesByType("resource");
        const script = resources.find((entry) => entry.initiatorType === "script");
        const listTours = resources.find((entry) => entry.name.endsWith("/ListTours"));
        const listed = performance.getEntriesByName("${TOURS_LISTED_MARK}")[0];
        return {
          html: Math.round(performance.getEntriesByType("navigation")[0].responseEnd),
          script: Math.round(script ? script.responseEnd : NaN),
          listToursSent: Math.round(listTours ? listTours.startTime : NaN),
          listToursAnswered: Math.round(listTours ? listTours.responseEnd : NaN),
          listed: Math.round(listed ? listed.startTime : NaN),
        };
      })()`)) as Record<"html" | "script" | "listToursSent" | "listToursAnswered" | "listed", number>;
      console.log(
        `tours listed ${timing.listed} ms after the start of a cold load (${when}): index.html arrived ${timing.html} ms, ` +
          `script loaded ${timing.script} ms, ListTours sent ${timing.listToursSent} ms and answered ${timing.listToursAnswered} ms`,
      );
      assert.ok(Number.isFinite(timing.listed), "the page marks when the tours are listed");
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send("Network.clearBrowserCache");
      await page.close();
    }
  });

  it("browses: filters by destination and availability, pages, and opens a tour", {
    timeout: JOURNEY_MS,
  }, async () => {
    const page = await open("/");
    const tours = page.getByRole("list", { name: "Tours" });
    await tours.getByRole("link").first().waitFor();
    const firstPage = await tours.getByRole("link").allTextContents();
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    await tours.getByRole("link").first().waitFor();
    const secondPage = await tours.getByRole("link").allTextContents();
    assert.equal(firstPage.length, 6);
    assert.ok(
      secondPage.every((title) => !firstPage.includes(title)),
      "page 2 shows other tours",
    );
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByText("Page 1").waitFor();

    await page.getByLabel("Destination").fill("Rome");
    await page.waitForURL(/destination=Rome/);
    await tours.getByRole("link", { name: "Colosseum Underground", exact: true }).waitFor();
    const destinations = await tours.getByRole("listitem").locator("p.muted").allTextContents();
    assert.ok(destinations.length > 0 && destinations.every((line) => line.startsWith("Rome")), "only Rome");
    await page.getByLabel("Available only").check();
    await page.waitForURL(/available=yes/);

    await page.getByLabel("Destination").fill("Paris");
    await page.waitForURL(/destination=Paris/);
    await tours.getByRole("link", { name: "Louvre Highlights", exact: true }).click();
    await page.getByRole("heading", { name: "Louvre Highlights", level: 1 }).waitFor();
    const facts = await page.locator("dl.facts-list").innerText();
    assert.match(facts, /Price\s+€69\.00 per traveller/);
    assert.match(facts, /Seats left\s+\d+ of 20/);
    assert.match(facts, /Rating\s+No reviews yet/);
    await page.getByRole("heading", { name: "Reviews" }).waitFor();
    await page.close();
  });

  it("signs in, quotes and books: the booking is Confirmed, the token never in localStorage, one trace id from browser to booking", {
    timeout: JOURNEY_MS,
  }, async () => {
    const page = await open("/");
    const traceparents = new Map<string, string>();
    page.on("request", (request) => {
      const traceparent = request.headers().traceparent;
      if (traceparent) traceparents.set(new URL(request.url()).pathname, traceparent);
    });
    await signIn(page);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");

    await openTour(page, "Paris", "Louvre Highlights");
    await page.getByLabel("Travellers").fill("6");
    await page.getByLabel("Country").selectOption("DE");
    await page.getByLabel("Promo code").fill("welcome5");
    await page.getByRole("button", { name: "Get quote" }).click();
    const quote = page.locator("dl.quote");
    await quote.waitFor();
    const text = await quote.innerText();
    // 6 × €69 = €414; group 10% + WELCOME5 5% = €62.10 off; VAT 19% of €351.90 = €66.86; total €418.76.
    assert.match(text, /Base \(6 × €69\.00\)\s+€414\.00/);
    assert.match(text, /Discount \(WELCOME5\)\s+−€62\.10/);
    assert.match(text, /VAT \(19%\)\s+€66\.86/);
    assert.match(text, /Total\s+€418\.76/);

    await page.getByLabel("Travellers").fill("2");
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.waitForURL(/\/bookings$/);
    const card = bookingCard(page, "Louvre Highlights");
    await card.getByText("Confirmed", { exact: true }).waitFor();
    await card.getByRole("button", { name: "Cancel" }).waitFor();

    const traceparent = traceparents.get("/tourmesh.booking.v1.BookingService/CreateBooking");
    assert.match(traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    for (const [path, header] of traceparents)
      assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, `${path} carries a traceparent`);
    const traceId = traceparent?.split("-")[1];
    const tracedBy = new Set(
      logLines.filter(({ entry }) => entry.trace_id === traceId).map(({ service }) => service),
    );
    assert.ok(tracedBy.has("gateway") && tracedBy.has("booking"), `trace ${traceId} in ${[...tracedBy]}`);
    await page.close();
  });

  it("shows a bad promo code beside its field", { timeout: JOURNEY_MS }, async () => {
    const page = await open("/");
    await signIn(page);
    await openTour(page, "Rome", "Colosseum Underground");
    await page.getByLabel("Promo code").fill("NOPE");
    await page.getByRole("button", { name: "Get quote" }).click();
    const field = page.getByLabel("Promo code");
    await page.locator("[aria-invalid=true]").waitFor();
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    const describedBy = (await field.getAttribute("aria-describedby")) ?? "";
    const violation = await page.locator(`[id="${describedBy}"]`).innerText();
    assert.match(violation, /NOPE/);
    assert.equal(await page.getByLabel("Travellers").getAttribute("aria-invalid"), "false");
    await page.close();
  });

  it("while payment is down a booking is Pending payment, said plainly, and turns Confirmed without a reload; then it can be cancelled", {
    timeout: JOURNEY_MS,
  }, async () => {
    const faults = payment();
    await faults.setFaults({ outage: true });
    try {
      const page = await open("/");
      await signIn(page);
      await openTour(page, "Paris", "Montmartre Walk");
      await page.getByRole("button", { name: "Book", exact: true }).click();
      await page.waitForURL(/\/bookings$/);
      const card = bookingCard(page, "Montmartre Walk");
      await card.getByText("Pending payment", { exact: true }).waitFor();
      await card.getByText("Payment is temporarily unavailable").waitFor();
      await page.evaluate(() => {
        (globalThis as Record<string, unknown>).sameDocument = true;
      });

      await faults.setFaults({ outage: false });
      await card.getByText("Confirmed", { exact: true }).waitFor({ timeout: 60_000 });
      assert.equal(await card.getByText("Payment is temporarily unavailable").count(), 0);
      assert.equal(
        await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument),
        true,
        "no reload",
      );

      await card.getByRole("button", { name: "Cancel" }).click();
      await card.getByText("Cancelled", { exact: true }).waitFor();
      assert.equal(await card.getByRole("button", { name: "Cancel" }).count(), 0, "nothing left to cancel");
      const [booking] = await alicesBookingsOf("tour_paris_montmartre");
      assert.equal(booking?.status, 4, "CANCELLED, as the booking service says");
      await page.close();
    } finally {
      await faults.setFaults({ outage: false });
    }
  });

  it("offers a review only after a confirmed booking of the tour", { timeout: JOURNEY_MS }, async () => {
    const page = await open("/");
    await signIn(page);
    await openTour(page, "Paris", "Le Marais Food Tour");
    await page.getByText("You can review this tour once you have a confirmed booking of it.").waitFor();
    assert.equal(await page.getByRole("button", { name: "Post review" }).count(), 0);

    await page.getByRole("link", { name: "← All tours" }).click();
    await openTour(page, "Paris", "Louvre Highlights");
    await page.getByLabel("Rating").selectOption("4");
    await page.getByLabel("Comment").fill("A lot of art in three hours.");
    await page.getByRole("button", { name: "Post review" }).click();
    await page.getByText("Thank you for your review.").waitFor();
    await page.getByText("A lot of art in three hours.").waitFor();
    await page.close();
  });

  it("books once on a double click", { timeout: JOURNEY_MS }, async () => {
    const page = await open("/");
    let createCalls = 0;
    page.on("request", (request) => {
      if (request.url().endsWith("/CreateBooking")) createCalls++;
    });
    await signIn(page);
    await openTour(page, "Paris", "Seine Evening Cruise");
    await page.getByRole("button", { name: "Book", exact: true }).dblclick();
    await page.waitForURL(/\/bookings$/);
    await bookingCard(page, "Seine Evening Cruise").getByText("Confirmed", { exact: true }).waitFor();
    assert.ok(createCalls >= 1);
    assert.equal((await alicesBookingsOf("tour_paris_seine-cruise")).length, 1, "one booking");
    await page.close();
  });

  it("when the answer to Book is lost, says so and offers Retry; Retry and a reload resend the same key and book once", {
    timeout: JOURNEY_MS,
  }, async () => {
    // The connection is cut on purpose here, which the browser logs: this page's errors are not checked.
    const page = await open("/", { watch: false });
    await signIn(page);
    await openTour(page, "Paris", "Versailles Day Trip");
    await page.getByLabel("Travellers").fill("3");
    // The booking service gets each call and makes the booking; the browser never sees the answer.
    await page.route(
      "**/tourmesh.booking.v1.BookingService/CreateBooking",
      async (route) => {
        await route.fetch();
        await route.abort("connectionreset");
      },
      { times: 2 },
    );
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.getByText("We can't reach tourmesh right now").waitFor();
    await page.getByRole("button", { name: "Retry" }).click();
    await page.getByText("We can't reach tourmesh right now").waitFor();

    await page.reload();
    await page.getByRole("heading", { name: "Versailles Day Trip", level: 1 }).waitFor();
    assert.equal(await page.getByLabel("Travellers").inputValue(), "3", "the unfinished order is kept");
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.waitForURL(/\/bookings$/);
    await bookingCard(page, "Versailles Day Trip").getByText("Confirmed", { exact: true }).waitFor();
    const bookings = await alicesBookingsOf("tour_paris_versailles");
    assert.equal(bookings.length, 1, "three sends of one attempt, one booking");
    assert.equal(bookings[0]?.travelers, 3);
    await page.close();
  });

  it("shows the dark-launched trip planner to the users its flag names, and to no one else", {
    timeout: JOURNEY_MS,
  }, async () => {
    // flags/flags.json: web-trip-planner is on for alice and olga, off for everyone else.
    const flagsAnswered = (page: Page) =>
      page.waitForResponse(
        (response) =>
          response.url().endsWith("/ofrep/v1/evaluate/flags") &&
          response.request().headers().authorization !== undefined,
      );

    const alices = await open("/");
    await signIn(alices);
    await alices.getByRole("link", { name: "My bookings" }).click();
    const planner = alices.getByRole("region", { name: "Trip planner" });
    // Alice booked the Louvre and Versailles tours above: both are on her itinerary, by day.
    await planner.getByText("Louvre Highlights").waitFor();
    await planner.getByText("Versailles Day Trip").waitFor();
    assert.ok((await planner.getByRole("heading", { level: 3 }).count()) >= 1, "a heading per day");
    await alices.close();

    const bobs = await open("/");
    const answered = flagsAnswered(bobs);
    await signIn(bobs, "bob");
    assert.equal((await answered).status(), 200);
    await bobs.getByRole("link", { name: "My bookings" }).click();
    await bobs.getByRole("heading", { name: "My bookings" }).waitFor();
    assert.equal(await bobs.getByRole("region", { name: "Trip planner" }).count(), 0);
    await bobs.close();
  });

  it("lists the traveller's notifications", { timeout: JOURNEY_MS }, async () => {
    const page = await open("/");
    await signIn(page);
    await page.getByRole("link", { name: "Notifications" }).click();
    const list = page.getByRole("list", { name: "Notifications" });
    // Told by the notification service once the booking events reach it; the page looks again by itself.
    await list.getByText("Booking confirmed").first().waitFor();
    await list.getByText("Booking cancelled").first().waitFor();
    await page.getByRole("link", { name: "My bookings" }).click();
    await page.getByRole("heading", { name: "My bookings" }).waitFor();
    await page.close();
  });
});
