/**
 * `npm run dev:web` in Chromium: Vite's dev server with web/vite.config.ts, on a copy of the app's sources so
 * that the test can edit them. An edited component is swapped into the running page (Prefresh), which keeps
 * its state: no reload. The gateway's paths go to GATEWAY_URL, here a server that records what reaches it.
 */
import * as assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort } from "@tourmesh/platform/testing";
import { createServer, type ViteDevServer } from "vite";
import { type Chromium, launchChromium } from "./chromium.js";

const webRoot = join(import.meta.dirname, "..");
const WAIT_MS = 30_000;

describe("the web app's dev server (npm run dev:web)", { timeout: 5 * 60_000 }, () => {
  let sources: string;
  let gateway: Server;
  const reachedGateway: string[] = [];
  let vite: ViteDevServer;
  let browser: Chromium;
  let appUrl: string;

  before(async () => {
    // The copy sits beside a link to the repository's node_modules, so that it resolves what the app imports.
    sources = mkdtempSync(join(tmpdir(), "tourmesh-web-dev-"));
    for (const entry of ["index.html", "src", "public"])
      cpSync(join(webRoot, entry), join(sources, entry), { recursive: true });
    symlinkSync(join(webRoot, "..", "node_modules"), join(sources, "node_modules"));

    gateway = createHttpServer((request, response) => {
      reachedGateway.push(request.url ?? "");
      response.statusCode = 503;
      response.end();
    });
    const gatewayPort = await freePort();
    await new Promise<void>((resolve) => gateway.listen(gatewayPort, "127.0.0.1", resolve));
    process.env.GATEWAY_URL = `http://127.0.0.1:${gatewayPort}`;

    const port = await freePort();
    vite = await createServer({
      configFile: join(webRoot, "vite.config.ts"),
      root: sources,
      logLevel: "silent",
      server: { host: "127.0.0.1", port, strictPort: true },
    });
    await vite.listen();
    appUrl = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await vite?.close();
    gateway?.close();
    delete process.env.GATEWAY_URL;
    if (sources) rmSync(sources, { recursive: true, force: true });
  });

  it("swaps an edited component into the page, which keeps its state", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${appUrl}/sign-in`);
    await page.getByLabel("Username").fill("alice");
    await page.evaluate(() => {
      (globalThis as { loadedOnce?: boolean }).loadedOnce = true;
    });

    const signInPage = join(sources, "src", "pages", "sign-in.tsx");
    const text = readFileSync(signInPage, "utf8");
    assert.ok(text.includes("<h1>Sign in</h1>"));
    writeFileSync(signInPage, text.replace("<h1>Sign in</h1>", "<h1>Sign in to travel</h1>"));

    await page.getByRole("heading", { name: "Sign in to travel", level: 1 }).waitFor();
    assert.equal(await page.getByLabel("Username").inputValue(), "alice", "the form kept what was typed");
    assert.equal(
      await page.evaluate(() => (globalThis as { loadedOnce?: boolean }).loadedOnce),
      true,
      "no reload",
    );
    await page.close();
  });

  it("passes the app's calls and its flag evaluations to the gateway", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${appUrl}/`);
    // The tours page lists tours with ListTours; the flags provider evaluates over OFREP.
    await page.getByRole("alert").first().waitFor();
    assert.ok(
      reachedGateway.some((path) => path.startsWith("/tourmesh.catalog.v2.CatalogService/ListTours")),
      `ListTours reached the gateway (it saw ${reachedGateway.join(", ")})`,
    );
    assert.ok(reachedGateway.includes("/ofrep/v1/evaluate/flags"), "the flags were asked of the gateway");
    await page.close();
  });
});
