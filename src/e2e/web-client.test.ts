/**
 * The web client end to end (issue 6, SPEC 7): Debian's Chromium drives the built SPA against a
 * real server, at a desktop and a phone viewport. Screenshots of the main screens go to
 * test-results/ for review.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { WEB_CONTENT_SECURITY_POLICY } from '../server/http/web-client.js';
import { chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { addMember, call, createRoom, createUser, setupAdmin } from '../test-support/server.js';
import { chromiumForSuite, eventually, newPage, openRoom, PASSWORD, postMessage, postWebhook, roomItem, shot, signIn, type ViewportName, VIEWPORTS, watch } from '../test-support/web-page.js';

const enabled = chromiumAvailable();

async function openManageWebhooks(page: Page, how: 'pointer' | 'keyboard' = 'pointer'): Promise<Locator> {
  const gear = page.getByRole('button', { name: 'Room settings', exact: true });
  if (how === 'keyboard') {
    // The menu button pattern: Enter opens the menu with its first item focused; Enter picks it.
    await gear.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Manage webhooks');
    await page.keyboard.press('Enter');
  } else {
    await gear.click();
    await page.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).click();
  }
  const dialog = page.getByRole('dialog', { name: 'Manage webhooks' });
  await dialog.waitFor();
  return dialog;
}

async function rosterOf(page: Page, vp: ViewportName): Promise<Locator> {
  const roster = page.getByRole('complementary', { name: 'Roster' });
  if (!(await roster.isVisible())) await page.getByRole('button', { name: 'Members', exact: true }).click();
  await roster.waitFor();
  void vp;
  return roster;
}

/** Every control on screen has an accessible name (read from Chromium's accessibility tree). */
async function allControlsNamed(page: Page): Promise<void> {
  const tree = await page.locator('body').ariaSnapshot();
  const unnamed = tree.split('\n').filter((line) => /^\s*- (button|link|textbox|combobox|checkbox|menuitem|img)\b(?! ")/.test(line));
  assert.deepEqual(unnamed, [], `controls without a name in:\n${tree}`);
}

async function noHorizontalScroll(page: Page): Promise<void> {
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
}

describe('web client in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();

  test('serves the app with a strict CSP, the SPA fallback, and the PWA manifest', async () => {
    const s = await startWebTestServer();
    try {
      const index = await fetch(`${s.baseUrl}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(index.headers.get('content-security-policy'), WEB_CONTENT_SECURITY_POLICY);
      const html = await index.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
      assert.doesNotMatch(html, /<style|style=/, 'no inline style');

      const deep = await fetch(`${s.baseUrl}/rooms/00000000-0000-4000-8000-000000000000`);
      assert.equal(deep.status, 200);
      assert.equal(deep.headers.get('content-security-policy'), WEB_CONTENT_SECURITY_POLICY);
      assert.equal(await deep.text(), html);

      const api = await fetch(`${s.baseUrl}/api/v1/nothing-here`);
      assert.equal(api.status, 404);
      assert.equal(((await api.json()) as { Code: string }).Code, 'NotFound');
      const missingAsset = await fetch(`${s.baseUrl}/assets/missing.js`);
      assert.equal(missingAsset.status, 404);

      const manifest = (await (await fetch(`${s.baseUrl}/manifest.webmanifest`)).json()) as { name: string; icons: { src: string }[] };
      assert.equal(manifest.name, 'Carillon');
      for (const icon of manifest.icons) assert.equal((await fetch(`${s.baseUrl}${icon.src}`)).status, 200, icon.src);
      assert.equal((await fetch(`${s.baseUrl}/favicon.svg`)).status, 200);
    } finally {
      await s.close();
    }
  });

  for (const vp of ['desktop', 'phone'] as const) {
    test(`${vp}: setup, new room, webhook created and copied, its post shown live, regenerate, delete`, async () => {
      const s = await startWebTestServer();
      const { ctx, page, problems } = await newPage(browser(), s, vp);
      try {
        await page.goto('/');
        await page.getByLabel('Email', { exact: true }).fill('ada@example.com');
        await page.getByLabel('Alias', { exact: true }).fill('ada');
        await page.getByLabel('Display name', { exact: true }).fill('Ada Lovelace');
        await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
        await shot(page, `${vp}-setup`);
        await page.getByRole('button', { name: 'Create administrator', exact: true }).click();

        await page.getByRole('button', { name: 'New room', exact: true }).click();
        await page.getByLabel('Room name', { exact: true }).fill('deployments');
        await page.getByRole('button', { name: 'Create room', exact: true }).click();
        await page.getByRole('heading', { level: 1, name: 'deployments' }).waitFor();

        if (vp === 'desktop') {
          // The system administrator creates an account, then adds it to the room (gear → Add members).
          await page.getByRole('button', { name: 'New user', exact: true }).click();
          const newUser = page.getByRole('dialog', { name: 'New user' });
          await newUser.getByLabel('Email', { exact: true }).fill('grace@example.com');
          await newUser.getByLabel('Alias', { exact: true }).fill('grace');
          await newUser.getByLabel('Display name', { exact: true }).fill('Grace Hopper');
          await newUser.getByLabel('Password', { exact: true }).fill(PASSWORD);
          await newUser.getByRole('button', { name: 'Create user', exact: true }).click();
          await newUser.getByText('can now sign in').waitFor();
          await newUser.getByRole('button', { name: 'Done', exact: true }).click();
          await page.getByRole('button', { name: 'Room settings', exact: true }).click();
          await page.getByRole('menuitem', { name: 'Add members', exact: true }).click();
          const add = page.getByRole('dialog', { name: 'Add members' });
          await add.getByLabel('Email', { exact: true }).fill('nobody@example.com');
          await add.getByRole('button', { name: 'Add member', exact: true }).click();
          await add.getByRole('alert').getByText('No user has that email').waitFor();
          await add.getByLabel('Email', { exact: true }).fill('grace@example.com');
          await add.getByLabel('Role', { exact: true }).selectOption('member');
          await add.getByRole('button', { name: 'Add member', exact: true }).click();
          await add.getByText('Added Grace Hopper (@grace)').waitFor();
          await add.getByRole('button', { name: 'Done', exact: true }).click();
          const roster = await rosterOf(page, vp);
          await roster.locator('li', { hasText: 'Grace Hopper' }).getByRole('img', { name: 'Not in this room' }).waitFor();
        }

        let dialog = await openManageWebhooks(page);
        await dialog.getByRole('button', { name: 'New', exact: true }).click();
        await dialog.getByLabel('Webhook name', { exact: true }).fill('Deploy bot');
        await dialog.getByRole('button', { name: 'Create', exact: true }).click();
        // One webhook in the room, so one row (its name changes below).
        const row = dialog.locator('.webhook-row');
        const rowUrl = row.getByRole('textbox', { name: /^URL of / });
        await row.getByRole('button', { name: 'Copy webhook URL', exact: true }).click();
        await row.getByText('Copied').waitFor();
        const url = (await page.evaluate('navigator.clipboard.readText()')) as string;
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/incomingwebhooks\/[0-9a-f-]{36}\?token=[A-Za-z0-9]{72}$/);
        assert.equal(await rowUrl.inputValue(), url, 'the row shows the same URL');
        await allControlsNamed(page);
        await shot(page, `${vp}-manage-webhooks`);
        await dialog.getByRole('button', { name: 'Close', exact: true }).click();

        // A script posts to the copied URL: the message appears live, rendered by the server.
        const posted = await postWebhook(url, '/md **Deployed** :tada: https://example.com');
        assert.equal(posted.status, 200, JSON.stringify(posted.body));
        const message = page.locator(`article[data-message-id="${posted.body.MessageId}"]`);
        await message.waitFor();
        await page.getByText('Deploy bot (Webhook)', { exact: true }).waitFor();
        await message.getByRole('img', { name: 'Webhook' }).waitFor();
        assert.equal(await message.locator('.message-body strong').textContent(), 'Deployed');
        const link = message.locator('.message-body a[href="https://example.com"]');
        assert.equal(await link.getAttribute('target'), '_blank');
        assert.match((await link.getAttribute('rel')) ?? '', /noopener/);
        assert.match((await message.locator('.message-body').textContent()) ?? '', /🎉/u);
        // Wide content (a table, a long code line, a long URL) scrolls inside the message, never the page.
        const wide = await postWebhook(
          url,
          `/md ### Release 1.2.3\n\n| service | status |\n|---|---|\n| api | :white_check_mark: |\n| worker | :warning: degraded |\n\n\`\`\`\n$ ${'deploy --verbose '.repeat(12)}\n\`\`\`\nDetails: https://example.com/${'a'.repeat(120)} cc @ada`,
        );
        assert.equal(wide.status, 200, JSON.stringify(wide.body));
        await page.locator(`article[data-message-id="${wide.body.MessageId}"] table`).waitFor();
        await noHorizontalScroll(page);
        await allControlsNamed(page);
        await shot(page, `${vp}-room`);

        // The roster lists the webhook with its icon, and nothing to click on it.
        const roster = await rosterOf(page, vp);
        const hook = roster.locator('li', { hasText: 'Deploy bot' });
        await hook.getByRole('img', { name: 'Webhook', exact: true }).waitFor();
        assert.equal(await hook.locator('button, a, input').count(), 0);
        await roster.locator('li', { hasText: 'Ada Lovelace' }).getByRole('img', { name: 'Present in this room' }).waitFor();
        if (vp === 'phone') {
          await shot(page, 'phone-roster');
          await roster.getByRole('button', { name: 'Hide members' }).click();
        }

        // Regenerate (confirmed in the dialog): the old URL answers 404, the new one posts.
        dialog = await openManageWebhooks(page, vp === 'desktop' ? 'keyboard' : 'pointer');
        await row.getByRole('button', { name: 'Regenerate URL', exact: true }).click();
        await dialog.getByText('stops working').waitFor();
        await shot(page, `${vp}-confirm-regenerate`);
        await dialog.getByRole('button', { name: 'Regenerate URL', exact: true }).click();
        const newUrl = await eventually(async () => {
          const v = await rowUrl.inputValue();
          assert.notEqual(v, url);
          return v;
        });
        const old = await postWebhook(url, 'old URL');
        assert.equal(old.status, 404);
        assert.equal(old.body.Code, 'WebhookNotFound');
        const again = await postWebhook(newUrl, 'Second deploy :white_check_mark:');
        assert.equal(again.status, 200);

        // Rename: new posts carry the new name, earlier ones keep theirs (SPEC 2.4).
        await row.getByRole('button', { name: 'Rename', exact: true }).click();
        await row.getByRole('textbox', { name: 'New name for Deploy bot' }).fill('Release bot');
        await row.getByRole('button', { name: 'Save', exact: true }).click();
        await row.locator('.webhook-name', { hasText: 'Release bot' }).waitFor();
        const renamed = await postWebhook(newUrl, 'Third deploy');
        assert.equal(renamed.status, 200);

        // Delete (confirmed): the row goes and its URL answers 404.
        await row.getByRole('button', { name: 'Delete', exact: true }).click();
        await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
        await dialog.getByText('No webhooks yet').waitFor();
        const gone = await postWebhook(newUrl, 'after delete');
        assert.equal(gone.status, 404);
        assert.equal(gone.body.Code, 'WebhookNotFound');
        await dialog.getByRole('button', { name: 'Close', exact: true }).click();
        await page.locator(`article[data-message-id="${again.body.MessageId}"]`).waitFor();
        const third = page.locator(`article[data-message-id="${renamed.body.MessageId}"]`);
        assert.equal(await third.locator('.message-sender').textContent(), 'Release bot (Webhook)');
        assert.equal(await message.locator('.message-sender').textContent(), 'Deploy bot (Webhook)');

        // The composer: Enter sends, Shift+Enter makes a new line.
        const box = page.getByRole('textbox', { name: 'Message', exact: true });
        await box.fill('first line');
        await box.press('Shift+Enter');
        await box.pressSequentially('second line');
        await box.press('Enter');
        const mine = page.locator('article.message', { hasText: 'second line' });
        await mine.waitFor();
        assert.match((await mine.locator('.message-body').innerText()).trim(), /^first line\nsecond line$/);
        await eventually(async () => assert.equal(await box.inputValue(), ''), 5_000, 'the composer to clear');

        if (vp === 'phone') {
          await page.getByRole('button', { name: 'Back to rooms' }).click();
          await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
          await noHorizontalScroll(page);
          await shot(page, 'phone-rooms');
          // Touch-sized controls on the phone.
          for (const name of ['New room', 'Sign out']) {
            const box = await page.getByRole('button', { name, exact: true }).boundingBox();
            assert.ok(box && box.height >= 44, `${name} is ${box?.height}px tall`);
          }
        }
        assert.deepEqual(problems, []);
      } finally {
        await ctx.close();
        await s.close();
      }
    });

    test(`${vp}: a member without the administrator role sees no Manage webhooks and no URLs`, async () => {
      const s = await startWebTestServer();
      const admin = await setupAdmin(s.baseUrl, 'ada');
      const roomId = await createRoom(s.baseUrl, admin, 'ops');
      const bob = await createUser(s.baseUrl, admin, 'bob', 'Bob Builder');
      await addMember(s.baseUrl, admin, roomId, bob);
      const created = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: 'CI' } });
      assert.equal(created.status, 201);
      const { ctx, page, problems } = await newPage(browser(), s, vp);
      try {
        await signIn(page, bob.email);
        if (vp === 'phone') await openRoom(page, vp, 'ops');
        await page.getByRole('heading', { level: 1, name: 'ops' }).waitFor();
        await page.getByRole('button', { name: 'Room settings', exact: true }).click();
        const menu = page.getByRole('menu', { name: 'Room settings' });
        await menu.waitFor();
        await menu.getByRole('menuitem', { name: 'Add members', exact: true }).waitFor();
        assert.equal(await page.getByRole('menuitem', { name: 'Manage webhooks' }).count(), 0);
        assert.equal(await page.getByText('Manage webhooks').count(), 0);
        await shot(page, `${vp}-member-settings-menu`);
        await page.keyboard.press('Escape');
        const roster = await rosterOf(page, vp);
        await roster.locator('li', { hasText: 'CI' }).getByRole('img', { name: 'Webhook', exact: true }).waitFor();
        assert.ok(!(await page.content()).includes('incomingwebhooks'), 'no webhook URL anywhere in the page');
        if (vp === 'phone') await page.getByRole('button', { name: 'Back to rooms' }).click();
        await page.getByRole('button', { name: 'Sign out', exact: true }).click();
        await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
        assert.equal((await call(s.baseUrl, 'GET', '/api/v1/me', { token: bob.token })).status, 200, 'only this session ended');
        assert.deepEqual(problems, []);
      } finally {
        await ctx.close();
        await s.close();
      }
    });

    test(`${vp}: an @alias alert in another room is counted in its badge, notified, and highlighted`, async () => {
      const s = await startWebTestServer();
      const admin = await setupAdmin(s.baseUrl, 'ada');
      const general = await createRoom(s.baseUrl, admin, 'general');
      const ops = await createRoom(s.baseUrl, admin, 'ops');
      const carol = await createUser(s.baseUrl, admin, 'carol', 'Carol Chen');
      await addMember(s.baseUrl, admin, general, carol);
      await addMember(s.baseUrl, admin, ops, carol);
      const { ctx, page, problems } = await newPage(browser(), s, vp);
      // A stand-in for the browser's Notification, recording what the app shows.
      await page.addInitScript(`
        window.__notifications = [];
        window.Notification = class {
          static permission = 'default';
          static async requestPermission() { window.Notification.permission = 'granted'; return 'granted'; }
          constructor(title, options) { window.__notifications.push({ title, body: options && options.body }); }
          close() {}
        };
        // The app shows them through its service worker when one is active (issue 13): record those too.
        if (window.ServiceWorkerRegistration) ServiceWorkerRegistration.prototype.showNotification = async function (title, options) {
          window.__notifications.push({ title, body: options && options.body });
        };
      `);
      try {
        await signIn(page, carol.email);
        await openRoom(page, vp, 'general');
        // Notifications are asked for with a button, never on load.
        assert.equal(await page.evaluate('window.Notification.permission'), 'default');
        if (vp === 'phone') await page.getByRole('button', { name: 'Back to rooms' }).click();
        await page.getByRole('button', { name: 'Enable desktop notifications' }).click();
        await eventually(async () => assert.equal(await page.evaluate('window.Notification.permission'), 'granted'));
        if (vp === 'phone') await openRoom(page, vp, 'general');
        await eventually(async () => assert.equal(await page.locator('.connection-live').count(), 1), 10_000, 'the stream');

        const alerting = await postMessage(s.baseUrl, admin, ops, 'Deploy is stuck, can you look @carol?');
        await postMessage(s.baseUrl, admin, ops, 'Logs are in the usual place.');
        const inGeneral = await postMessage(s.baseUrl, admin, general, 'Morning @carol :wave:');

        // In the open room the mention is highlighted at once and not counted.
        const here = page.locator(`article[data-message-id="${inGeneral.id}"]`);
        await here.waitFor();
        assert.match((await here.getAttribute('class')) ?? '', /message-alert/);
        await here.locator(`.mention.mention-me[data-user-id="${carol.id}"]`).waitFor();

        if (vp === 'phone') await page.getByRole('button', { name: 'Back to rooms' }).click();
        const opsItem = roomItem(page, 'ops');
        await eventually(async () => {
          assert.match((await opsItem.locator('.badge-alert').textContent()) ?? '', /^@1 alert$/);
          assert.match((await opsItem.locator('.badge-unread').textContent()) ?? '', /^2 unread$/);
        });
        assert.equal(await roomItem(page, 'general').locator('.badge').count(), 0, 'the open room counts nothing');
        const notes = (await page.evaluate('window.__notifications')) as { title: string; body: string }[];
        assert.deepEqual(notes, [{ title: 'Admin in #ops', body: 'Deploy is stuck, can you look @carol?' }]);
        await shot(page, `${vp}-alert-badge`);

        await opsItem.click();
        const alert = page.locator(`article[data-message-id="${alerting.id}"]`);
        await alert.waitFor();
        assert.match((await alert.getAttribute('class')) ?? '', /message-alert/);
        await alert.locator(`.mention.mention-me[data-user-id="${carol.id}"]`).waitFor();
        assert.doesNotMatch((await page.locator('article', { hasText: 'Logs are in the usual place.' }).getAttribute('class')) ?? '', /message-alert/);
        await shot(page, `${vp}-alert-highlighted`);
        if (vp === 'phone') await page.getByRole('button', { name: 'Back to rooms' }).click();
        await eventually(async () => assert.equal(await roomItem(page, 'ops').locator('.badge').count(), 0), 5_000, 'badges cleared on open');
        assert.deepEqual(problems, []);
      } finally {
        await ctx.close();
        await s.close();
      }
    });
  }

  test('desktop (dark): older messages load on scroll up, and the open room is reported as presence', async () => {
    const s = await startWebTestServer();
    const admin = await setupAdmin(s.baseUrl, 'ada');
    const roomId = await createRoom(s.baseUrl, admin, 'history');
    const other = await createRoom(s.baseUrl, admin, 'lounge');
    for (let n = 1; n <= 120; n++) {
      await postMessage(s.baseUrl, admin, roomId, n % 10 === 0 ? `/md message **${n}** with \`code\`` : `message ${n}`);
    }
    const ctx = await browser().newContext({ ...VIEWPORTS.desktop, baseURL: s.baseUrl, colorScheme: 'dark' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    const problems = watch(page);
    const present = async (room: string) =>
      (await call(s.baseUrl, 'GET', `/api/v1/rooms/${room}/roster`, { token: admin.token })).body.members.find((m: { userId: string }) => m.userId === admin.id)
        ?.present;
    try {
      await signIn(page, admin.email);
      await openRoom(page, 'desktop', 'history');
      await page.locator('article', { hasText: 'message 119' }).waitFor();
      const shown = () => page.locator('article.message').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
      assert.equal((await shown())[0], 71, 'the latest 50 first');
      await eventually(async () => assert.equal(await present(roomId), true), 5_000, 'present in the open room');
      await shot(page, 'desktop-dark-room');

      await eventually(
        async () => {
          await page.locator('.message-scroller').evaluate((el) => el.scrollTo(0, 0));
          await page.getByRole('heading', { name: 'Welcome to #history' }).waitFor({ timeout: 500 });
        },
        15_000,
        'history back to the first message',
      );
      assert.deepEqual(await shown(), Array.from({ length: 120 }, (_, i) => i + 1));

      await openRoom(page, 'desktop', 'lounge');
      await eventually(async () => {
        assert.equal(await present(roomId), false);
        assert.equal(await present(other), true);
      }, 5_000, 'presence follows the open room');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('desktop: after the server restarts, the client reconnects and shows the messages posted meanwhile', async () => {
    const s = await startWebTestServer();
    const admin = await setupAdmin(s.baseUrl, 'ada');
    const roomId = await createRoom(s.baseUrl, admin, 'ops');
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      await signIn(page, admin.email);
      await page.getByRole('heading', { level: 1, name: 'ops' }).waitFor();
      await eventually(async () => assert.equal(await page.locator('.connection-live').count(), 1), 10_000, 'the stream');
      const first = await postMessage(s.baseUrl, admin, roomId, 'before the restart');
      await page.locator(`article[data-message-id="${first.id}"]`).waitFor();

      await s.restart(async (app) => {
        // Posted while no server is listening: the client cannot have seen them live.
        for (const n of [1, 2, 3]) {
          const r = await app.inject({
            method: 'POST',
            url: `/api/v1/rooms/${roomId}/messages`,
            headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
            payload: { content: `posted while down ${n}` },
          });
          assert.equal(r.statusCode, 201, r.body);
        }
      });
      await page.locator('article', { hasText: 'posted while down 3' }).waitFor({ timeout: 30_000 });
      const seqs = await page.locator('article.message').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
      assert.deepEqual(seqs, [1, 2, 3, 4], 'each message once, in order, no gap');
      const live = await postMessage(s.baseUrl, admin, roomId, 'after the restart');
      await page.locator(`article[data-message-id="${live.id}"]`).waitFor();
      await shot(page, 'desktop-after-restart');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });
});
