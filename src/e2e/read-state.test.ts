/**
 * Read state and notification settings (issue 13) end to end in Debian's Chromium against a real
 * server: one user signed in twice (two browser contexts, as a desktop and a laptop) sees the same
 * badges, and reading on one clears them on the other; "New messages" sits above the first unread
 * message on opening; "Jump to first unread mention" reaches a mention above the viewport; the
 * Notifications choice and Mute room in the gear menu are kept (after a reload) and decide which
 * messages raise a desktop notification.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { RESULTS_DIR, type WebTestServer, chromiumAvailable, ensureWebBuild, launchChromium, startWebTestServer } from '../test-support/browser.js';
import { type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../test-support/server.js';
import { type TestPage, eventually, newPage, openRoom, postMessage, roomItem, shot, signIn, waitForLiveStream } from '../test-support/web-page.js';

const enabled = chromiumAvailable();

/** The DOM a test reads from an element (the server's tsconfig has no DOM types). */
interface SiblingOf {
  nextElementSibling: { getAttribute(name: string): string | null } | null;
  previousElementSibling: { getAttribute(name: string): string | null } | null;
}

/** The unread and alert badges of a room in the sidebar ('' when absent). */
async function badges(page: Page, room: string): Promise<{ unread: string; alerts: string }> {
  const item = roomItem(page, room);
  const text = async (selector: string) => ((await item.locator(selector).count()) > 0 ? ((await item.locator(selector).textContent()) ?? '').trim() : '');
  return { unread: await text('.badge-unread'), alerts: await text('.badge-alert') };
}

async function expectBadges(page: Page, room: string, expected: { unread: string; alerts: string }, what: string): Promise<void> {
  await eventually(async () => assert.deepEqual(await badges(page, room), expected), 10_000, what);
}

/** Opens the gear menu of the room on screen. */
async function openMenu(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Room settings', exact: true }).click();
  await page.getByRole('menu', { name: 'Room settings' }).waitFor();
}

async function checkedChoice(page: Page): Promise<string | null> {
  const menu = page.getByRole('menu', { name: 'Room settings' });
  for (const label of ['All messages', 'Mentions and alerts', 'Nothing']) {
    if ((await menu.getByRole('menuitemradio', { name: label, exact: true }).getAttribute('aria-checked')) === 'true') return label;
  }
  return null;
}

describe('read state and notification settings in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  let browser: Browser;
  let s: WebTestServer;
  let alice: TestUser;
  let bob: TestUser;
  let alpha: string;
  let deploys: string;
  const pages: TestPage[] = [];

  /** Bob signed in in a fresh browser context, on the first room (Alpha), with a live stream. */
  const bobPage = async (init?: (p: TestPage) => Promise<void>): Promise<Page> => {
    const p = await newPage(browser, s, 'desktop');
    pages.push(p);
    await init?.(p);
    await signIn(p.page, bob.email);
    await p.page.getByRole('heading', { level: 1, name: 'Alpha' }).waitFor();
    await waitForLiveStream(p.page);
    return p.page;
  };

  before(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    await ensureWebBuild();
    browser = await launchChromium();
    s = await startWebTestServer();
    alice = await setupAdmin(s.baseUrl, 'alice');
    bob = await createUser(s.baseUrl, alice, 'bob', 'Bob Builder');
    alpha = await createRoom(s.baseUrl, alice, 'Alpha');
    deploys = await createRoom(s.baseUrl, alice, 'Deploys');
    await addMember(s.baseUrl, alice, alpha, bob);
    await addMember(s.baseUrl, alice, deploys, bob);
  });

  /** Each test's pages close with it: a page left on a room would read that room for bob. */
  afterEach(async () => {
    const problems = pages.flatMap((p) => p.problems);
    for (const p of pages.splice(0)) await p.ctx.close().catch(() => {});
    assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  test('one user on two devices: a message badges both; opening the room on one clears the badge on the other', async () => {
    const desktop = await bobPage();
    const laptop = await bobPage();
    await postMessage(s.baseUrl, alice, deploys, `deploy started @${bob.alias}`);
    await postMessage(s.baseUrl, alice, deploys, 'deploy finished');
    for (const [name, page] of [['desktop', desktop], ['laptop', laptop]] as const) {
      await expectBadges(page, 'Deploys', { unread: '2 unread', alerts: '@1 alert' }, `the badges on the ${name}`);
    }
    // The counts are the server's: the same after a reload.
    await laptop.reload();
    await waitForLiveStream(laptop);
    await expectBadges(laptop, 'Deploys', { unread: '2 unread', alerts: '@1 alert' }, 'the badges after a reload');
    await shot(laptop, 'read-state-badges');

    await openRoom(desktop, 'desktop', 'Deploys');
    await expectBadges(desktop, 'Deploys', { unread: '', alerts: '' }, 'the badge cleared where the room was opened');
    await expectBadges(laptop, 'Deploys', { unread: '', alerts: '' }, 'the badge cleared on the other device');
    await eventually(async () => {
      const room = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${deploys}`, { token: bob.token })).body.room;
      assert.deepEqual([room.lastReadSeq, room.unreadCount, room.mentionCount], [2, 0, 0]);
    }, 10_000, 'the read position on the server');

    // While the room is on screen, new messages are read there and badge no device.
    await postMessage(s.baseUrl, alice, deploys, 'rollback done');
    await desktop.locator('.message[data-seq="3"]').waitFor();
    await eventually(async () => {
      const room = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${deploys}`, { token: bob.token })).body.room;
      assert.equal(room.lastReadSeq, 3);
    }, 10_000, 'the on-screen message marked read');
    await expectBadges(laptop, 'Deploys', { unread: '', alerts: '' }, 'no badge on the other device');
  });

  test('"New messages" is above the first unread message when the room is opened; a jump reaches an unread mention above the viewport', async () => {
    const page = await bobPage();
    await expectBadges(page, 'Deploys', { unread: '', alerts: '' }, 'nothing unread yet');
    const first = await postMessage(s.baseUrl, alice, deploys, `look at this first @${bob.alias}`);
    for (let i = 1; i <= 40; i++) await postMessage(s.baseUrl, alice, deploys, `log line ${i}\nwith a second line`);
    await expectBadges(page, 'Deploys', { unread: '41 unread', alerts: '@1 alert' }, 'the badges before opening');

    await openRoom(page, 'desktop', 'Deploys');
    const divider = page.getByRole('separator', { name: 'New messages' });
    await divider.waitFor();
    assert.equal(await divider.count(), 1);
    // Right above the first unread message (the one after the read position), not above the old ones.
    const next = await divider.evaluate((el) => (el as unknown as SiblingOf).nextElementSibling?.getAttribute('data-seq'));
    assert.equal(next, String(first.seq));
    const previous = await divider.evaluate((el) => (el as unknown as SiblingOf).previousElementSibling?.getAttribute('data-seq'));
    assert.equal(previous, String(first.seq - 1), 'below the last message read');

    // The room opens at its newest message; the mention is far above: the jump brings it into view.
    const jump = page.getByRole('button', { name: 'Jump to first unread mention' });
    await jump.waitFor();
    await shot(page, 'read-state-divider-jump');
    await jump.click();
    const mention = page.locator(`.message[data-seq="${first.seq}"]`);
    await eventually(async () => assert.equal(await mention.isVisible(), true), 5_000, 'the mention');
    await eventually(async () => {
      const box = await mention.boundingBox();
      const viewport = await page.locator('.message-scroller').boundingBox();
      assert.ok(box && viewport && box.y >= viewport.y - 1 && box.y + box.height <= viewport.y + viewport.height + 1, 'the mention is in the viewport');
    }, 5_000, 'the mention in view');
    await eventually(async () => assert.equal(await jump.count(), 0), 5_000, 'the jump button gone once the mention is in view');
    await shot(page, 'read-state-after-jump');

    // Leaving and coming back with nothing new: no divider.
    await openRoom(page, 'desktop', 'Alpha');
    await openRoom(page, 'desktop', 'Deploys');
    await page.locator('.message').last().waitFor();
    assert.equal(await page.getByRole('separator', { name: 'New messages' }).count(), 0);
  });

  test('the Notifications choice and Mute room are kept after a reload, and decide which messages notify', async () => {
    // A stand-in for the browser's Notification API that records what would be shown.
    const page = await bobPage(async ({ ctx }) => {
      // A string, not a function: the test's own compiler would lower the class to helpers the page lacks.
      await ctx.addInitScript(`
        const shown = [];
        window.__shown = shown;
        class RecordingNotification {
          constructor(title, options) { shown.push({ title, body: (options && options.body) || '' }); this.onclick = null; }
          close() {}
        }
        RecordingNotification.permission = 'granted';
        RecordingNotification.requestPermission = async () => 'granted';
        Object.defineProperty(window, 'Notification', { value: RecordingNotification, configurable: true, writable: true });
        // The app shows them through its service worker when one is active: record those too.
        if (window.ServiceWorkerRegistration) ServiceWorkerRegistration.prototype.showNotification = async function (title, options) {
          shown.push({ title, body: (options && options.body) || '' });
        };
      `);
    });
    const shown = async () => (await page.evaluate(() => (globalThis as unknown as { __shown: { body: string }[] }).__shown.map((n) => n.body))).sort();
    const notifiedAfter = async (content: string, expected: string[], what: string) => {
      await postMessage(s.baseUrl, alice, deploys, content);
      await eventually(async () => assert.deepEqual(await shown(), [...expected].sort()), 5_000, what);
    };
    const choose = async (label: string) => {
      await openRoom(page, 'desktop', 'Deploys');
      await openMenu(page);
      await page.getByRole('menuitemradio', { name: label, exact: true }).click();
      await eventually(async () => {
        await openMenu(page);
        try {
          assert.equal(await checkedChoice(page), label);
        } finally {
          await page.keyboard.press('Escape');
          await page.getByRole('menu', { name: 'Room settings' }).waitFor({ state: 'detached' });
        }
      }, 5_000, `${label} checked`);
      await openRoom(page, 'desktop', 'Alpha');
    };

    // The default: mentions and alerts only.
    await openRoom(page, 'desktop', 'Deploys');
    await openMenu(page);
    assert.equal(await checkedChoice(page), 'Mentions and alerts');
    const menu = page.getByRole('menu', { name: 'Room settings' });
    // The SPEC's items stay (Manage webhooks is for room administrators only; bob is a member).
    assert.equal(await menu.getByRole('menuitem', { name: 'Add members', exact: true }).count(), 1);
    assert.equal(await menu.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).count(), 0);
    assert.equal(await menu.getByRole('menuitem', { name: 'Mute room', exact: true }).count(), 1);
    assert.equal(await menu.getByRole('group', { name: 'Notifications' }).getByRole('menuitemradio').count(), 3);
    await shot(page, 'read-state-menu');
    await page.keyboard.press('Escape');
    await openRoom(page, 'desktop', 'Alpha');
    await notifiedAfter('just chatter', [], 'no notification for a plain message');
    await notifiedAfter(`@${bob.alias} can you look`, ['@bob can you look'], 'a notification for a mention');

    await choose('All messages');
    await notifiedAfter('more chatter', ['@bob can you look', 'more chatter'], 'every message notifies');
    await choose('Nothing');
    await notifiedAfter(`@${bob.alias} urgent`, ['@bob can you look', 'more chatter'], 'nothing notifies');

    // Kept on the server: visible after a reload.
    assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${deploys}`, { token: bob.token })).body.room.notify, 'none');
    await page.reload();
    await waitForLiveStream(page);
    await openRoom(page, 'desktop', 'Deploys');
    await openMenu(page);
    assert.equal(await checkedChoice(page), 'Nothing');

    // Mute: nothing notifies even with All messages; the unread count is there but not emphasised.
    await page.getByRole('menuitem', { name: 'Mute room', exact: true }).click();
    await choose('All messages');
    await eventually(async () => assert.equal(await roomItem(page, 'Deploys').locator('.room-item-muted-icon').count(), 1), 5_000, 'the muted mark');
    const before = (await shown()).length;
    await postMessage(s.baseUrl, alice, deploys, 'while muted');
    await postMessage(s.baseUrl, alice, deploys, `@${bob.alias} while muted`);
    await expectBadges(page, 'Deploys', { unread: '2 unread', alerts: '@1 alert' }, 'the muted room still counts, and its mention shows');
    assert.equal(await roomItem(page, 'Deploys').locator('.badge-unread.badge-muted').count(), 1, 'the count is not emphasised');
    assert.equal(await roomItem(page, 'Deploys').evaluate((el) => el.classList.contains('room-item-unread')), false);
    assert.equal((await shown()).length, before, 'a muted room never notifies');
    await shot(page, 'read-state-muted');

    await page.reload();
    await waitForLiveStream(page);
    await openRoom(page, 'desktop', 'Deploys');
    await openMenu(page);
    assert.equal(await page.getByRole('menuitem', { name: 'Unmute room', exact: true }).count(), 1, 'still muted after a reload');
    assert.equal(await checkedChoice(page), 'All messages');
    await page.getByRole('menuitem', { name: 'Unmute room', exact: true }).click();
    await eventually(async () => assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${deploys}`, { token: bob.token })).body.room.muted, false), 5_000, 'unmuted');
  });
});
