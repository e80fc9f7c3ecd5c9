/**
 * How the web client is served, seen from Chromium (issue 12): the scripts and styles the app loads
 * arrive brotli- or gzip-compressed with an immutable cache header, and the app still runs; and the
 * Manage webhooks dialog warns when PUBLIC_URL is unset, so the URLs it hands out point at localhost.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Locator, Page, Response } from 'playwright-core';
import { chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { createRoom, setupAdmin } from '../test-support/server.js';
import { chromiumForSuite, newPage, openRoom, PASSWORD, shot, signIn } from '../test-support/web-page.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const enabled = chromiumAvailable();

async function openManageWebhooks(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Room settings', exact: true }).click();
  await page.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Manage webhooks' });
  await dialog.waitFor();
  return dialog;
}

/** New → Webhook name → Create; returns the new webhook's URL as the dialog shows it. */
async function createWebhookInDialog(dialog: Locator, name: string): Promise<string> {
  await dialog.getByRole('button', { name: 'New', exact: true }).click();
  await dialog.getByLabel('Webhook name', { exact: true }).fill(name);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const url = dialog.getByRole('textbox', { name: `URL of ${name}`, exact: true });
  await url.waitFor();
  return url.inputValue();
}

describe('serving the web client, in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();

  test('the scripts and styles the app loads come compressed (br or gzip) and immutable; the app runs', async () => {
    const s = await startWebTestServer();
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      const assets: Response[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname.startsWith('/assets/')) assets.push(r);
      });
      const document = await page.goto('/');
      assert.ok(document);
      // The app ran (its scripts decoded and executed under the CSP): the first-run setup screen.
      await page.getByRole('button', { name: 'Create administrator', exact: true }).waitFor();

      const documentHeaders = await document.allHeaders();
      assert.match(documentHeaders['content-encoding'] ?? '', /^(?:br|gzip)$/, 'index.html is compressed');
      assert.equal(documentHeaders['cache-control'], 'no-cache', 'index.html revalidates');

      const kinds = new Set(assets.map((r) => new URL(r.url()).pathname.replace(/^.*\./, '')));
      assert.ok(kinds.has('js') && kinds.has('css'), `the app loaded a script and a stylesheet: ${assets.map((r) => r.url()).join(', ')}`);
      for (const r of assets) {
        const path = new URL(r.url()).pathname;
        const headers = await r.allHeaders();
        const sent = await r.request().allHeaders();
        assert.equal(r.status(), 200, path);
        assert.match(sent['accept-encoding'] ?? '', /gzip/, `${path}: Chromium asked for compression`);
        assert.match(headers['content-encoding'] ?? '(none)', /^(?:br|gzip)$/, `${path} is compressed`);
        assert.equal(headers['cache-control'], IMMUTABLE, path);
        assert.match(headers.vary ?? '', /accept-encoding/i, path);
        // Chromium decoded it: the body it hands to the page is the script or stylesheet itself.
        const body = await r.text();
        assert.ok(body.length > 1000, `${path}: ${body.length} characters`);
      }

      // And it works beyond the first screen: setup signs the administrator in.
      await page.getByLabel('Email', { exact: true }).fill('ada@example.com');
      await page.getByLabel('Alias', { exact: true }).fill('ada');
      await page.getByLabel('Display name', { exact: true }).fill('Ada Lovelace');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Create administrator', exact: true }).click();
      await page.getByRole('button', { name: 'New room', exact: true }).waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('PUBLIC_URL unset and the page opened at 127.0.0.1: Manage webhooks warns that the URLs point at localhost', async () => {
    const s = await startWebTestServer({ PUBLIC_URL: '' });
    const port = new URL(s.baseUrl).port;
    assert.equal(s.server.config.publicUrl, `http://localhost:${port}`, 'the default of a server started without PUBLIC_URL');
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      const admin = await setupAdmin(s.baseUrl);
      await createRoom(s.baseUrl, admin, 'deployments');
      await signIn(page, admin.email);
      await openRoom(page, 'desktop', 'deployments');
      const dialog = await openManageWebhooks(page);

      // Shown at once, before any webhook exists.
      const warning = dialog.getByRole('note', { name: 'Webhook URLs point at localhost' });
      await warning.waitFor();
      const text = await warning.innerText();
      assert.match(text, new RegExp(`Webhook URLs point at localhost \\(http://localhost:${port}\\)`));
      assert.match(text, /only for scripts on the server’s own machine/);
      assert.match(text, new RegExp(`set PUBLIC_URL to the address scripts use to reach this server, for example PUBLIC_URL=${s.baseUrl.replace(/\./g, '\\.')}`));

      // The URL it hands out is indeed localhost's, and the warning stays beside it.
      const url = await createWebhookInDialog(dialog, 'Deploy bot');
      assert.ok(url.startsWith(`http://localhost:${port}/incomingwebhooks/`), url);
      assert.equal(await warning.isVisible(), true);
      await shot(page, 'desktop-webhooks-localhost-warning');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('PUBLIC_URL set to the address the browser uses: no warning', async () => {
    const s = await startWebTestServer();
    assert.equal(s.server.config.publicUrl, s.baseUrl);
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      const admin = await setupAdmin(s.baseUrl);
      await createRoom(s.baseUrl, admin, 'deployments');
      await signIn(page, admin.email);
      await openRoom(page, 'desktop', 'deployments');
      const dialog = await openManageWebhooks(page);
      // The list has loaded (the warning would come with it), and there is no warning.
      await dialog.getByText('No webhooks yet. Create one with New.').waitFor();
      assert.equal(await dialog.getByRole('note').count(), 0);
      const url = await createWebhookInDialog(dialog, 'Deploy bot');
      assert.ok(url.startsWith(`${s.baseUrl}/incomingwebhooks/`), url);
      assert.equal(await dialog.getByRole('note').count(), 0);
      assert.equal(await dialog.getByText('point at localhost').count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });
});
