/**
 * The installable app (issue 13, item 1), in Debian's Chromium: the service worker registers and
 * controls the page, the app shell opens with the network cut, Chromium finds the app installable,
 * and a Web Push message shows a notification through the worker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { PushPayload } from '../shared/api-types.js';
import { chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { createRoom, setupAdmin } from '../test-support/server.js';
import { chromiumForSuite, eventually, newPage, postMessage, shot, signIn } from '../test-support/web-page.js';

const enabled = chromiumAvailable();

/** The page's navigator.serviceWorker, as seen inside page.evaluate (the test itself is Node code). */
interface SwContainer {
  ready: Promise<{ getNotifications(): Promise<{ title: string; body: string; tag: string; data: unknown }[]> }>;
  controller: { scriptURL: string } | null;
}
type PageGlobals = { navigator: { serviceWorker: SwContainer } };

/** Waits until the service worker is active and controls this page (clients.claim on activate). */
async function controlledBySw(page: Page): Promise<string> {
  // `ready` never settles without a worker: fail in time instead of hanging (a development build registers none).
  await page.evaluate(async () => {
    const none = new Promise((_, reject) => setTimeout(() => reject(new Error('no service worker became active (is dist/web a production build?)')), 15_000));
    await Promise.race([(globalThis as unknown as PageGlobals).navigator.serviceWorker.ready, none]);
  });
  return eventually(async () => {
    const url = await page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.serviceWorker.controller?.scriptURL ?? '');
    assert.ok(url, 'the page is controlled by the service worker');
    return url;
  }, 15_000, 'the service worker to control the page');
}

describe('installable app and service worker, in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();

  test('the worker controls the page; with the network cut, a reload still opens the app shell', async () => {
    const s = await startWebTestServer();
    const { ctx, page, problems } = await newPage(browser(), s, 'phone');
    try {
      const admin = await setupAdmin(s.baseUrl);
      await createRoom(s.baseUrl, admin, 'Deployments');
      await signIn(page, admin.email);
      const script = await controlledBySw(page);
      assert.equal(new URL(script).pathname, '/sw.js');
      // The worker is served like index.html: revalidated on every start, so an update is seen at once.
      const sw = await fetch(`${s.baseUrl}/sw.js`);
      assert.equal(sw.status, 200);
      assert.equal(sw.headers.get('cache-control'), 'no-cache');

      await ctx.setOffline(true);
      await page.reload();
      // The shell (scripts, styles, icons) came from the worker's cache: the app runs and says
      // it cannot reach the server, instead of the browser's own offline error page.
      await page.getByRole('heading', { name: 'Cannot reach Carillon', exact: true }).waitFor();
      assert.equal(await page.title(), 'Carillon');
      await shot(page, 'pwa-offline-phone');
      await ctx.setOffline(false);
      await page.reload();
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('Chromium finds the app installable (manifest, icons, worker)', async () => {
    const s = await startWebTestServer();
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      await page.goto('/');
      await controlledBySw(page);
      const cdp = await ctx.newCDPSession(page);
      const manifest = (await cdp.send('Page.getAppManifest')) as { errors: { message: string }[]; url: string };
      assert.deepEqual(manifest.errors, [], 'the manifest parses without errors');
      assert.match(manifest.url, /\/manifest\.webmanifest$/);
      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
      // Headless contexts are off the record; everything about the app itself must pass.
      assert.deepEqual(installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito'), []);
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('a notification’s link (/rooms/{id}?seq=N) opens the room at that message, even one older than the first page', async () => {
    const s = await startWebTestServer();
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      const admin = await setupAdmin(s.baseUrl);
      const roomId = await createRoom(s.baseUrl, admin, 'Alerts');
      let target = 0;
      for (let i = 1; i <= 130; i++) {
        const m = await postMessage(s.baseUrl, admin, roomId, i === 7 ? 'Disk full on db-1 (the alert)' : `line ${i}`);
        if (i === 7) target = m.seq;
      }
      await signIn(page, admin.email);
      await page.goto(`/rooms/${roomId}?seq=${target}`);
      const item = page.locator(`article[data-seq="${target}"]`);
      await item.waitFor();
      await eventually(async () => {
        const visible = await page.evaluate((seq) => {
          const doc = (globalThis as unknown as { document: { querySelector(q: string): { getBoundingClientRect(): { top: number; bottom: number } } | null } }).document;
          const el = doc.querySelector(`article[data-seq="${seq}"]`);
          const box = doc.querySelector('.message-scroller')?.getBoundingClientRect();
          const r = el?.getBoundingClientRect();
          return !!(r && box && r.top >= box.top && r.bottom <= box.bottom);
        }, target);
        assert.ok(visible, 'the message is in view');
      }, 10_000, 'the linked message in view');
      assert.match((await item.getAttribute('class')) ?? '', /message-focus/);
      // The link has done its job: the address no longer carries ?seq.
      assert.equal(new URL(page.url()).search, '');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('a push message shows a notification with the room, sender and preview, opening the message', async () => {
    const s = await startWebTestServer();
    const { ctx, page } = await newPage(browser(), s, 'desktop');
    try {
      await ctx.grantPermissions(['notifications'], { origin: s.baseUrl });
      await page.goto('/');
      await controlledBySw(page);
      const cdp = await ctx.newCDPSession(page);
      const registrations = new Promise<{ registrationId: string; scopeURL: string }[]>((resolve) =>
        cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
          if (e.registrations.length > 0) resolve(e.registrations);
        }),
      );
      await cdp.send('ServiceWorker.enable');
      const [registration] = await registrations;
      const payload: PushPayload = {
        type: 'message',
        roomId: '6d1f7a9e-2b3c-4d5e-8f90-a1b2c3d4e5f6',
        roomName: 'Deployments',
        messageId: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
        seq: 7,
        sender: 'Deploy bot (Webhook)',
        body: 'Deploy 🚀 finished <b>now</b>',
        alert: true,
        createdAt: Date.now(),
        url: '/rooms/6d1f7a9e-2b3c-4d5e-8f90-a1b2c3d4e5f6?seq=7',
      };
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: new URL(s.baseUrl).origin + '/',
        registrationId: registration!.registrationId,
        data: JSON.stringify(payload),
      });
      const shown = await eventually(async () => {
        const list = await page.evaluate(async () => {
          const reg = await (globalThis as unknown as PageGlobals).navigator.serviceWorker.ready;
          return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown }));
        });
        assert.equal(list.length, 1);
        return list[0]!;
      }, 10_000, 'the push notification');
      assert.deepEqual(shown, {
        title: 'Deployments',
        // Text, never markup: a notification body is not HTML.
        body: 'Deploy bot (Webhook): Deploy 🚀 finished <b>now</b>',
        tag: `room:${payload.roomId}`,
        data: { url: payload.url, roomId: payload.roomId },
      });
    } finally {
      await ctx.close();
      await s.close();
    }
  });
});
