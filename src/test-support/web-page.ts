/**
 * Page-level helpers shared by the browser tests (src/e2e/web-client*.test.ts): viewports, a fresh
 * page that records uncaught errors and CSP refusals, sign-in, opening a room, posting through the
 * API and webhooks, and `eventually` (Playwright's auto-waiting expect is not in playwright-core).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { RESULTS_DIR, type WebTestServer, ensureWebBuild, launchChromium } from './browser.js';
import { type TestUser, call } from './server.js';

/**
 * For a describe block: builds the web client if needed and starts Chromium before its tests, closes
 * it after them. Returns the browser (valid inside the tests).
 */
export function chromiumForSuite(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    await ensureWebBuild();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not started (call chromiumForSuite() inside describe)');
    return browser;
  };
}

export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
} as const satisfies Record<string, BrowserContextOptions>;
export type ViewportName = keyof typeof VIEWPORTS;

/** The password setupAdmin and createUser give every test account. */
export const PASSWORD = 'correct horse battery';

/** Polls until `check` stops throwing, then returns its value. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last instanceof Error ? last.message : String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A screenshot in test-results/, for review. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`), fullPage: false });
}

/** Uncaught errors and CSP refusals fail the test: the build must run under the strict policy. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to (?:execute|load|apply)/i.test(text)) problems.push(`CSP: ${text}`);
  });
  return problems;
}

export interface TestPage {
  ctx: BrowserContext;
  page: Page;
  /** Uncaught errors and CSP refusals seen so far (see watch). */
  problems: string[];
  /** Every console message, as `type: text` (Chromium reports an invalid `pattern` attribute there). */
  consoleLines: string[];
}

export async function newPage(browser: Browser, s: WebTestServer, vp: ViewportName, options: BrowserContextOptions = {}): Promise<TestPage> {
  const ctx = await browser.newContext({ ...VIEWPORTS[vp], baseURL: s.baseUrl, ...options });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.baseUrl });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  return { ctx, page, problems: watch(page), consoleLines };
}

export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
}

export function roomItem(page: Page, name: string): Locator {
  return page.locator('.room-item', { has: page.locator('.room-item-name', { hasText: new RegExp(`^${name}$`) }) });
}

/** Opens a room from the list (on phones the list is its own screen). */
export async function openRoom(page: Page, vp: ViewportName, name: string): Promise<void> {
  if (vp === 'phone' && !(await page.getByRole('navigation', { name: 'Rooms' }).isVisible())) {
    await page.getByRole('button', { name: 'Back to rooms' }).click();
  }
  await roomItem(page, name).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** Waits until the page's stream is connected (the sidebar shows it live). */
export async function waitForLiveStream(page: Page, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => assert.equal(await page.locator('.connection-live').count(), 1), timeoutMs, 'the stream to be live');
}

export async function postMessage(baseUrl: string, user: TestUser, roomId: string, content: string): Promise<{ id: string; seq: number }> {
  const r = await call(baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: user.token, body: { content } });
  assert.equal(r.status, 201, r.text);
  return r.body.message;
}

export async function postWebhook(url: string, content: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Content: content }) });
  return { status: res.status, body: await res.json() };
}
