/**
 * Issue 14 in the web client, end to end in Debian's Chromium against a real server: editing and
 * deleting messages (seen live in another browser), reactions with who reacted, an edit made while
 * a client was offline arriving with its resume, search (jumping to the hit in its room, and never
 * showing a room the searcher is not in), and the Ctrl+K room switcher. Screenshots go to
 * test-results/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { type WebTestServer, chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../test-support/server.js';
import { type TestPage, type ViewportName, chromiumForSuite, eventually, newPage, openRoom, postMessage, postWebhook, shot, signIn, waitForLiveStream } from '../test-support/web-page.js';
import { createWebhook } from '../test-support/webhooks.js';

const enabled = chromiumAvailable();

function article(page: Page, messageId: string): Locator {
  return page.locator(`article[data-message-id="${messageId}"]`);
}

/** Points at the message (its toolbar shows) and returns one of its actions. */
async function action(page: Page, messageId: string, name: 'Add reaction' | 'Edit message' | 'Delete message'): Promise<Locator> {
  const item = article(page, messageId);
  await item.scrollIntoViewIfNeeded();
  await item.hover();
  await item.getByRole('button', { name: 'Add reaction', exact: true }).waitFor();
  return item.getByRole('button', { name, exact: true });
}

/** The reaction chip of an emoji under a message ("✅ 2 — Admin, Bob Builder"). */
function chip(page: Page, messageId: string, emoji: string): Locator {
  return article(page, messageId).locator('.reaction', { has: page.locator('.reaction-emoji', { hasText: emoji }) });
}

async function chipState(page: Page, messageId: string, emoji: string): Promise<{ name: string | null; pressed: string | null; title: string | null } | null> {
  const c = chip(page, messageId, emoji);
  if ((await c.count()) === 0) return null;
  return { name: await c.getAttribute('aria-label'), pressed: await c.getAttribute('aria-pressed'), title: await c.getAttribute('title') };
}

async function search(page: Page, query: string): Promise<Locator> {
  const box = page.getByLabel('Search messages', { exact: true });
  await box.fill(query);
  await box.press('Enter');
  const region = page.getByRole('region', { name: 'Search results' });
  await region.waitFor();
  return region;
}

describe('message actions, reactions, search and the room switcher in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();
  let s: WebTestServer;
  let alice: TestUser; // system administrator, administrator of every room (display name "Admin")
  let bob: TestUser; // a member of General, Deploys and History
  let carol: TestUser; // a member of General only
  let general: string;
  let deploys: string;
  let secret: string;
  let history: string;
  const pages: TestPage[] = [];

  /** A signed-in page on the given room, with a live stream. */
  const pageFor = async (user: TestUser, room: string, vp: ViewportName = 'desktop'): Promise<Page> => {
    const p = await newPage(browser(), s, vp);
    pages.push(p);
    await signIn(p.page, user.email);
    await waitForLiveStream(p.page);
    await openRoom(p.page, vp, room);
    return p.page;
  };

  before(async () => {
    s = await startWebTestServer();
    alice = await setupAdmin(s.baseUrl, 'alice');
    bob = await createUser(s.baseUrl, alice, 'bob', 'Bob Builder');
    carol = await createUser(s.baseUrl, alice, 'carol', 'Carol Jones');
    general = await createRoom(s.baseUrl, alice, 'General');
    deploys = await createRoom(s.baseUrl, alice, 'Deploys');
    secret = await createRoom(s.baseUrl, alice, 'Secret');
    history = await createRoom(s.baseUrl, alice, 'History');
    for (const room of [general, deploys, history]) await addMember(s.baseUrl, alice, room, bob);
    await addMember(s.baseUrl, alice, general, carol);
  });

  afterEach(async () => {
    const problems = pages.flatMap((p) => p.problems);
    for (const p of pages.splice(0)) await p.ctx.close().catch(() => {});
    assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  });

  after(async () => {
    await s?.close();
  });

  test('editing my message: Enter saves, Escape cancels; another browser sees the new text and "(edited)" live; the history shows the old text', async () => {
    const m = await postMessage(s.baseUrl, bob, general, 'Deploy at 5pm');
    const bobPage = await pageFor(bob, 'General');
    const alicePage = await pageFor(alice, 'General');
    await article(alicePage, m.id).getByText('Deploy at 5pm').waitFor();

    await (await action(bobPage, m.id, 'Edit message')).click();
    const box = article(bobPage, m.id).getByRole('textbox', { name: 'Edit message', exact: true });
    assert.equal(await box.inputValue(), 'Deploy at 5pm');
    await box.fill('Deploy at 6pm');
    await shot(bobPage, 'issue14-editing');
    await box.press('Enter');
    await box.waitFor({ state: 'detached' });

    for (const [who, page] of [['bob', bobPage], ['alice', alicePage]] as const) {
      await eventually(async () => {
        const item = article(page, m.id);
        assert.equal(await item.locator('.message-body').innerText(), 'Deploy at 6pm');
        assert.equal(await item.getByText('(edited)', { exact: true }).count(), 1);
      }, 10_000, `the edit shown to ${who}`);
    }
    const title = await article(alicePage, m.id).getByText('(edited)', { exact: true }).getAttribute('title');
    assert.match(title ?? '', /^Edited /, 'the edit time is in its title');

    // A refusal shows the server's Message in place, and the draft stays.
    const refusal = { Code: 'PayloadTooLarge', Message: 'The message is longer than 4096 characters.' };
    await bobPage.route(`**/api/v1/rooms/${general}/messages/${m.id}`, async (route) => {
      if (route.request().method() !== 'PATCH') return route.fallback();
      await route.fulfill({ status: 413, contentType: 'application/json', body: JSON.stringify(refusal) });
    });
    await (await action(bobPage, m.id, 'Edit message')).click();
    await box.fill('refused text');
    await box.press('Enter');
    assert.equal(await article(bobPage, m.id).getByRole('alert').innerText(), refusal.Message);
    assert.equal(await box.inputValue(), 'refused text');
    await bobPage.unroute(`**/api/v1/rooms/${general}/messages/${m.id}`);
    await box.press('Escape');
    await box.waitFor({ state: 'detached' });

    // Escape cancels without a request; Shift+Enter is a new line; Save saves.
    await (await action(bobPage, m.id, 'Edit message')).click();
    await box.fill('never sent');
    await box.press('Escape');
    await box.waitFor({ state: 'detached' });
    assert.equal(await article(bobPage, m.id).locator('.message-body').innerText(), 'Deploy at 6pm');
    await (await action(bobPage, m.id, 'Edit message')).click();
    await box.fill('Deploy at 7pm');
    await box.press('Shift+Enter');
    await box.pressSequentially('(moved again)');
    assert.equal(await box.inputValue(), 'Deploy at 7pm\n(moved again)');
    await article(bobPage, m.id).getByRole('button', { name: 'Save', exact: true }).click();
    await eventually(async () => assert.match(await article(alicePage, m.id).locator('.message-body').innerText(), /Deploy at 7pm\s+\(moved again\)/), 10_000, 'the second edit');
    const stored = await call(s.baseUrl, 'GET', `/api/v1/rooms/${general}/messages`, { token: bob.token });
    const saved = (stored.body.messages as { id: string; content: string; editedAt: number | null }[]).find((x) => x.id === m.id)!;
    assert.equal(saved.content, 'Deploy at 7pm\n(moved again)');
    assert.ok(saved.editedAt !== null);

    // The author (and room administrators) can read the earlier versions.
    await article(alicePage, m.id).getByRole('button', { name: '(edited)', exact: true }).click();
    const dialog = alicePage.getByRole('dialog', { name: 'Edit history' });
    await dialog.getByText('Deploy at 5pm', { exact: true }).waitFor();
    await dialog.getByText('Deploy at 6pm', { exact: true }).waitFor();
    await shot(alicePage, 'issue14-edit-history');
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  test("others' messages have no Edit button; only room administrators may delete them", async () => {
    const mine = await postMessage(s.baseUrl, bob, general, 'a message of bob');
    const theirs = await postMessage(s.baseUrl, alice, general, 'a message of the administrator');
    const bobPage = await pageFor(bob, 'General');
    assert.equal(await (await action(bobPage, theirs.id, 'Edit message')).count(), 0, 'no Edit on a message of someone else');
    assert.equal(await (await action(bobPage, theirs.id, 'Delete message')).count(), 0, 'a member cannot delete it');
    assert.equal(await (await action(bobPage, mine.id, 'Edit message')).count(), 1);
    assert.equal(await (await action(bobPage, mine.id, 'Delete message')).count(), 1);
    // One toolbar at a time.
    assert.equal(await bobPage.getByRole('button', { name: 'Add reaction', exact: true }).count(), 1);

    const alicePage = await pageFor(alice, 'General');
    assert.equal(await (await action(alicePage, mine.id, 'Edit message')).count(), 0, 'an administrator does not edit what others wrote');
    assert.equal(await (await action(alicePage, mine.id, 'Delete message')).count(), 1, 'an administrator may delete it');
    // Keyboard focus shows the toolbar too.
    await alicePage.mouse.move(0, 0);
    await article(alicePage, theirs.id).focus();
    await article(alicePage, theirs.id).getByRole('button', { name: 'Edit message', exact: true }).waitFor();
    await alicePage.keyboard.press('Tab');
    assert.equal(await alicePage.evaluate('document.activeElement.getAttribute("aria-label")'), 'Add reaction');
  });

  test('deleting my message leaves a tombstone that another browser sees live', async () => {
    const m = await postMessage(s.baseUrl, bob, general, 'oops, wrong room');
    const bobPage = await pageFor(bob, 'General');
    const alicePage = await pageFor(alice, 'General');
    await article(alicePage, m.id).getByText('oops, wrong room').waitFor();

    await (await action(bobPage, m.id, 'Delete message')).click();
    const dialog = bobPage.getByRole('dialog', { name: 'Delete message' });
    await dialog.waitFor();
    await shot(bobPage, 'issue14-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });

    for (const page of [bobPage, alicePage]) {
      const item = article(page, m.id);
      await item.getByText('This message was deleted.', { exact: true }).waitFor();
      assert.equal(await item.getByText('oops, wrong room').count(), 0);
      assert.match((await item.getAttribute('aria-label')) ?? '', /^Bob Builder, /, 'the sender stays');
      assert.ok((await item.locator('time').count()) >= 1, 'the time stays');
      // A tombstone has no actions.
      await item.hover();
      assert.equal(await item.getByRole('button', { name: 'Add reaction', exact: true }).count(), 0);
    }
    await shot(alicePage, 'issue14-tombstone');
  });

  test('a room administrator deletes a webhook message; members see it was an administrator', async () => {
    const hook = await createWebhook(s.server, alice, deploys, 'CI');
    const posted = await postWebhook(hook.url, 'Build 41 failed: flaky test');
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const messageId = posted.body.MessageId as string;
    const bobPage = await pageFor(bob, 'Deploys');
    const alicePage = await pageFor(alice, 'Deploys');
    await article(bobPage, messageId).getByText('Build 41 failed').waitFor();
    assert.equal(await (await action(bobPage, messageId, 'Delete message')).count(), 0, 'a member cannot delete a webhook message');
    assert.equal(await (await action(alicePage, messageId, 'Edit message')).count(), 0, 'nobody edits a webhook message');

    await (await action(alicePage, messageId, 'Delete message')).click();
    const dialog = alicePage.getByRole('dialog', { name: 'Delete message' });
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    for (const page of [alicePage, bobPage]) {
      await article(page, messageId).getByText('This message was deleted by a room administrator.', { exact: true }).waitFor();
      assert.match((await article(page, messageId).getAttribute('aria-label')) ?? '', /^CI \(Webhook\), /);
    }
  });

  test('reactions: the picker adds one, chips toggle with counts and who reacted, live in both browsers; ✅ acknowledges an alert', async () => {
    const hook = await createWebhook(s.server, alice, deploys, 'Monitor');
    const posted = await postWebhook(hook.url, 'Disk 91% full on db-1');
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const id = posted.body.MessageId as string;
    const alicePage = await pageFor(alice, 'Deploys');
    const bobPage = await pageFor(bob, 'Deploys');
    await article(bobPage, id).waitFor();

    await (await action(alicePage, id, 'Add reaction')).click();
    const picker = alicePage.getByRole('dialog', { name: 'Reactions' });
    await picker.waitFor();
    const offered = await picker.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    assert.equal(offered[0], 'React with ✅', '✅ first');
    for (const emoji of ['✅', '👍', '👀', '🎉', '❤️', '😄', '😕', '🚀', '❌', '⚠️', '🙏', '👎']) assert.ok(offered.includes(`React with ${emoji}`), emoji);
    await shot(alicePage, 'issue14-picker');
    await picker.getByRole('button', { name: 'React with ✅', exact: true }).click();
    await picker.waitFor({ state: 'detached' });

    const expect = async (page: Page, emoji: string, state: { name: string; pressed: string; title?: string } | null, what: string) =>
      eventually(async () => {
        const got = await chipState(page, id, emoji);
        if (state === null) return assert.equal(got, null);
        assert.ok(got, `a ${emoji} chip`);
        assert.equal(got.name, state.name);
        assert.equal(got.pressed, state.pressed);
        if (state.title) assert.equal(got.title, state.title);
      }, 10_000, what);

    await expect(alicePage, '✅', { name: '✅ 1 — Admin', pressed: 'true', title: 'Acknowledged by Admin' }, 'alice sees her acknowledgement');
    await expect(bobPage, '✅', { name: '✅ 1 — Admin', pressed: 'false', title: 'Acknowledged by Admin' }, 'bob sees it live');

    await chip(bobPage, id, '✅').click();
    await expect(bobPage, '✅', { name: '✅ 2 — Admin, Bob Builder', pressed: 'true' }, 'bob joined');
    await expect(alicePage, '✅', { name: '✅ 2 — Admin, Bob Builder', pressed: 'true', title: 'Acknowledged by Admin, Bob Builder' }, 'alice sees bob join');

    // A second emoji from the picker, by bob.
    await (await action(bobPage, id, 'Add reaction')).click();
    await bobPage.getByRole('dialog', { name: 'Reactions' }).getByRole('button', { name: 'React with 👀', exact: true }).click();
    await expect(alicePage, '👀', { name: '👀 1 — Bob Builder', pressed: 'false', title: 'Bob Builder reacted with 👀' }, 'the second emoji');
    await shot(alicePage, 'issue14-reactions');

    // Toggling off.
    await chip(alicePage, id, '✅').click();
    await expect(alicePage, '✅', { name: '✅ 1 — Bob Builder', pressed: 'false' }, 'alice took hers back');
    await expect(bobPage, '✅', { name: '✅ 1 — Bob Builder', pressed: 'true' }, 'bob sees it');
    await chip(bobPage, id, '👀').click();
    await expect(alicePage, '👀', null, 'the last 👀 gone, and its chip');

    const stored = await call(s.baseUrl, 'GET', `/api/v1/rooms/${deploys}/messages`, { token: bob.token });
    const message = (stored.body.messages as { id: string; reactions: { emoji: string; count: number; userIds: string[] }[] }[]).find((x) => x.id === id)!;
    assert.deepEqual(message.reactions, [{ emoji: '✅', count: 1, userIds: [bob.id] }]);
  });

  test('an edit that newly mentions me notifies like a new alert; a later edit does not notify again', async () => {
    const m = await postMessage(s.baseUrl, alice, deploys, 'rollout paused');
    const p = await newPage(browser(), s, 'desktop');
    pages.push(p);
    // A stand-in for the Notification API that records what would be shown (as in read-state.test.ts).
    await p.ctx.addInitScript(`
      const shown = [];
      window.__shown = shown;
      class RecordingNotification {
        constructor(title, options) { shown.push((options && options.body) || ''); this.onclick = null; }
        close() {}
      }
      RecordingNotification.permission = 'granted';
      RecordingNotification.requestPermission = async () => 'granted';
      Object.defineProperty(window, 'Notification', { value: RecordingNotification, configurable: true, writable: true });
      if (window.ServiceWorkerRegistration) ServiceWorkerRegistration.prototype.showNotification = async function (title, options) {
        shown.push((options && options.body) || '');
      };
    `);
    const page = p.page;
    await signIn(page, bob.email);
    await waitForLiveStream(page);
    await openRoom(page, 'desktop', 'General');
    const shown = async () => (await page.evaluate('window.__shown.slice()')) as string[];
    const edit = async (content: string) => {
      const r = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${deploys}/messages/${m.id}`, { token: alice.token, body: { content } });
      assert.equal(r.status, 200, r.text);
    };
    await edit(`rollout paused @${bob.alias} please check`);
    await eventually(async () => assert.deepEqual(await shown(), [`rollout paused @${bob.alias} please check`]), 10_000, 'the notification for the new mention');
    await edit(`rollout paused @${bob.alias} please check now`);
    // A new message after it: once its notification is there, the second edit was handled (same room, in order).
    await postMessage(s.baseUrl, alice, deploys, `@${bob.alias} and one more`);
    await eventually(async () => assert.deepEqual(await shown(), [`rollout paused @${bob.alias} please check`, `@${bob.alias} and one more`]), 10_000, 'no second notification for the edit');
  });

  test('phone: a tap shows the actions; reacting works at phone width', async () => {
    const m = await postMessage(s.baseUrl, alice, general, 'Lunch at noon?');
    const page = await pageFor(bob, 'General', 'phone');
    const item = article(page, m.id);
    await item.scrollIntoViewIfNeeded();
    await item.locator('.message-body').tap();
    await item.getByRole('button', { name: 'Add reaction', exact: true }).tap();
    await page.getByRole('dialog', { name: 'Reactions' }).getByRole('button', { name: 'React with 👍', exact: true }).tap();
    await eventually(async () => assert.equal((await chipState(page, m.id, '👍'))?.name, '👍 1 — Bob Builder'), 10_000, 'the reaction');
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await item.locator('.message-body').tap();
    await shot(page, 'issue14-phone-actions');
  });

  test('an edit made while a browser was offline arrives with its resume', async () => {
    const m = await postMessage(s.baseUrl, alice, general, 'version one');
    const page = await pageFor(bob, 'General');
    await article(page, m.id).getByText('version one').waitFor();
    await s.restart(async (app) => {
      // Edited while no server is listening: the browser cannot have seen it live.
      const r = await app.inject({
        method: 'PATCH',
        url: `/api/v1/rooms/${general}/messages/${m.id}`,
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
        payload: { content: 'version two' },
      });
      assert.equal(r.statusCode, 200, r.body);
    });
    await article(page, m.id).getByText('version two', { exact: true }).waitFor({ timeout: 30_000 });
    await article(page, m.id).getByText('(edited)', { exact: true }).waitFor();
    // Still live afterwards, after the change's seq: the next message and change arrive too.
    const next = await postMessage(s.baseUrl, alice, general, 'after the restart');
    await article(page, next.id).waitFor();
    const r = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${general}/messages/${m.id}`, { token: alice.token, body: { content: 'version three' } });
    assert.equal(r.status, 200, r.text);
    await article(page, m.id).getByText('version three', { exact: true }).waitFor();
  });

  test('search finds a message older than the first page; choosing it opens its room there, highlighted', async () => {
    const target = await postMessage(s.baseUrl, alice, history, 'Postmortem: the quokka incident of March');
    for (let i = 1; i <= 70; i++) await postMessage(s.baseUrl, alice, history, `filler line ${i} about nothing`);
    const page = await pageFor(bob, 'General');

    const region = await search(page, 'quokka');
    const hit = region.getByRole('link').filter({ hasText: 'quokka' });
    await hit.waitFor();
    assert.equal(await hit.count(), 1);
    assert.equal(await hit.locator('mark').innerText(), 'quokka', 'the match is marked');
    assert.match(await hit.innerText(), /#History/);
    assert.match(await hit.innerText(), /Admin/);
    assert.equal(await hit.getAttribute('href'), `/rooms/${history}?seq=${target.seq}`);
    await shot(page, 'issue14-search');

    // Filters: another room has no such message; the sender filter keeps it.
    await region.getByLabel('Room', { exact: true }).selectOption({ label: '#General' });
    await region.getByText('No messages match', { exact: true }).waitFor();
    await region.getByLabel('Room', { exact: true }).selectOption({ label: '#History' });
    await hit.waitFor();
    await region.getByLabel('Sender', { exact: true }).selectOption({ label: 'Admin' });
    await hit.waitFor();
    await region.getByLabel('Sender', { exact: true }).selectOption({ label: 'Bob Builder' });
    await region.getByText('No messages match', { exact: true }).waitFor();
    await region.getByLabel('Sender', { exact: true }).selectOption({ label: 'Admin' });

    await hit.click();
    await page.getByRole('heading', { level: 1, name: 'History' }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Search results' }).count(), 0, 'the results close');
    const item = article(page, target.id);
    await item.waitFor({ timeout: 15_000 });
    await eventually(async () => assert.equal(await item.evaluate((el) => el.classList.contains('message-focus')), true), 10_000, 'the highlight');
    await eventually(async () => {
      const box = await item.boundingBox();
      const view = await page.locator('.message-scroller').boundingBox();
      assert.ok(box && view && box.y >= view.y - 1 && box.y + box.height <= view.y + view.height + 1, 'the hit is in view');
    }, 5_000, 'the hit in view');
    await eventually(async () => assert.equal(new URL(page.url()).pathname, `/rooms/${history}`), 5_000, 'the URL of the room');
    await shot(page, 'issue14-search-jump');

    // Pages: 20 at a time, Load more for the rest; Escape closes.
    const again = await search(page, 'filler');
    await eventually(async () => assert.equal(await again.getByRole('link').count(), 20), 10_000, 'the first page');
    await again.getByRole('button', { name: 'Load more', exact: true }).click();
    await eventually(async () => assert.equal(await again.getByRole('link').count(), 40), 10_000, 'the second page');
    const newest = await again.getByRole('link').first().innerText();
    assert.match(newest, /filler line 70\b/, 'newest first');
    await page.keyboard.press('Escape');
    await again.waitFor({ state: 'detached' });
  });

  test("search never shows a room the searcher is not a member of; errors show the server's Message", async () => {
    await postMessage(s.baseUrl, alice, secret, 'The platypus budget is approved');
    const carolPage = await pageFor(carol, 'General');
    const region = await search(carolPage, 'platypus');
    await region.getByText('No messages match', { exact: true }).waitFor();
    assert.equal(await region.getByRole('link').count(), 0);
    assert.equal(await region.getByText('platypus budget').count(), 0);
    const api = await call(s.baseUrl, 'GET', '/api/v1/search?q=platypus', { token: carol.token });
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(api.body.results, []);
    // The room filter offers only her rooms.
    const options = await region.getByLabel('Room', { exact: true }).locator('option').allInnerTexts();
    assert.deepEqual(options, ['All rooms', '#General']);

    // An empty query (punctuation only) is refused by the server: its Message is shown.
    const bad = await search(carolPage, '!!!');
    const alert = bad.getByRole('alert');
    await alert.waitFor();
    const refused = await call(s.baseUrl, 'GET', `/api/v1/search?q=${encodeURIComponent('!!!')}`, { token: carol.token });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(await alert.innerText(), refused.body.Message);

    // Its member finds it.
    const alicePage = await pageFor(alice, 'General');
    const found = await search(alicePage, 'platypus');
    await found.getByRole('link').filter({ hasText: 'platypus' }).waitFor();
  });

  test('Ctrl+K opens the room switcher: typing filters, arrows choose, Enter opens, Escape closes', async () => {
    const page = await pageFor(alice, 'General');
    await page.getByRole('textbox', { name: 'Message', exact: true }).focus();
    await page.keyboard.press('Control+K');
    const dialog = page.getByRole('dialog', { name: 'Switch room' });
    await dialog.waitFor();
    const input = dialog.getByLabel('Find a room', { exact: true });
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement.getAttribute("aria-label")'), 'Find a room'), 5_000, 'the box focused');
    const options = dialog.getByRole('listbox').getByRole('option');
    assert.deepEqual((await options.allInnerTexts()).map((t) => t.split('\n')[0]!.trim()), ['Deploys', 'General', 'History', 'Secret']);
    await shot(page, 'issue14-switcher');

    await input.fill('hst');
    assert.deepEqual(await options.allInnerTexts().then((t) => t.map((x) => x.trim())), ['History'], 'fuzzy: the letters in order');
    // "e": Deploys, General and Secret (not History); the arrows move the choice, wrapping around.
    await input.fill('e');
    assert.deepEqual((await options.allInnerTexts()).map((t) => t.split('\n')[0]!.trim()), ['Deploys', 'General', 'Secret']);
    assert.equal(await options.first().getAttribute('aria-selected'), 'true');
    await input.press('ArrowUp');
    await input.press('ArrowDown');
    await input.press('ArrowDown');
    await input.press('ArrowDown');
    const chosen = dialog.getByRole('option', { selected: true });
    assert.equal((await chosen.innerText()).split('\n')[0]!.trim(), 'Secret');
    assert.equal(await input.getAttribute('aria-activedescendant'), await chosen.getAttribute('id'));
    await input.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { level: 1, name: 'Secret' }).waitFor();

    await page.keyboard.press('Control+K');
    await dialog.waitFor();
    await dialog.getByLabel('Find a room', { exact: true }).fill('hist');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'History' }).waitFor();

    await page.keyboard.press('Control+K');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { level: 1, name: 'History' }).waitFor();
  });
});
