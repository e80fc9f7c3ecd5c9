/**
 * Issue 15 in the web client, end to end in Debian's Chromium against a real server: a webhook's
 * Details (delivery log of real posts, Send test message, settings with the server's refusals, the
 * other formats' URLs and GitHub's signing secret), regenerating with the old URL kept working,
 * the room's Audit log with paging, and the failure notice administrators (only) see. Screenshots
 * go to test-results/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { type WebTestServer, chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../test-support/server.js';
import { type TestPage, type ViewportName, chromiumForSuite, eventually, newPage, openRoom, postWebhook, shot, signIn, waitForLiveStream } from '../test-support/web-page.js';
import { type TestWebhook, createWebhook } from '../test-support/webhooks.js';

const enabled = chromiumAvailable();

async function openManageWebhooks(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Room settings', exact: true }).click();
  await page.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Manage webhooks' });
  await dialog.waitFor();
  return dialog;
}

function webhookRow(dialog: Locator, name: string): Locator {
  return dialog.locator('.webhook-row', { has: dialog.page().locator('.webhook-name', { hasText: new RegExp(`^${name}$`) }) });
}

/** Manage webhooks → the webhook's Details; returns the dialog. */
async function openDetails(page: Page, name: string): Promise<Locator> {
  const dialog = await openManageWebhooks(page);
  await webhookRow(dialog, name).getByRole('button', { name: 'Details', exact: true }).click();
  await dialog.getByRole('heading', { level: 3, name }).waitFor();
  return dialog;
}

/** The delivery log's rows as their cells' text: [time, status, code, size, latency, format, message]. */
async function logRows(dialog: Locator): Promise<string[][]> {
  const table = dialog.getByRole('table', { name: 'Delivery log' });
  if ((await table.count()) === 0) return [];
  return table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
}

/** A POST with a body as given; the answer parsed as JSON when it is (Slack's format answers plain text). */
/** Every control on screen has an accessible name (read from Chromium's accessibility tree). */
async function allControlsNamed(page: Page): Promise<void> {
  const tree = await page.locator('body').ariaSnapshot();
  const unnamed = tree.split('\n').filter((line) => /^\s*- (button|link|textbox|combobox|checkbox|spinbutton|menuitem|img|table)\b(?! ")/.test(line));
  assert.deepEqual(unnamed, [], `controls without a name in:\n${tree}`);
}

async function postRaw(url: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

describe('webhook operations in Chromium (issue 15)', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();
  let s: WebTestServer;
  let alice: TestUser; // system administrator; administrator of every room here (display name "Admin")
  let bob: TestUser; // a plain member of the rooms
  const pages: TestPage[] = [];

  const pageFor = async (user: TestUser, room: string, vp: ViewportName = 'desktop', colorScheme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const p = await newPage(browser(), s, vp, { colorScheme });
    pages.push(p);
    await signIn(p.page, user.email);
    await waitForLiveStream(p.page);
    await openRoom(p.page, vp, room);
    return p.page;
  };

  const roomWith = async (name: string): Promise<string> => {
    const id = await createRoom(s.baseUrl, alice, name);
    await addMember(s.baseUrl, alice, id, bob);
    return id;
  };

  const listed = async (roomId: string, webhookId: string): Promise<any> => {
    const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: alice.token });
    assert.equal(r.status, 200, r.text);
    return (r.body.webhooks as { id: string }[]).find((w) => w.id === webhookId);
  };

  before(async () => {
    s = await startWebTestServer();
    alice = await setupAdmin(s.baseUrl, 'alice');
    bob = await createUser(s.baseUrl, alice, 'bob', 'Bob Builder');
  });

  afterEach(async () => {
    const problems = pages.flatMap((p) => p.problems);
    for (const p of pages.splice(0)) await p.ctx.close().catch(() => {});
    assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  });

  after(async () => {
    await s?.close();
  });

  test('Details: the delivery log shows posts made to the webhook URL (a 200 and a 400); View message opens the room at it', async () => {
    const room = await roomWith('Builds');
    const hook = await createWebhook(s.server, alice, room, 'CI');
    const page = await pageFor(alice, 'Builds');
    const dialog = await openDetails(page, 'CI');
    await dialog.getByText('No deliveries yet', { exact: true }).waitFor();

    const ok = await postWebhook(hook.url, 'Build 7 passed :white_check_mark:');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const bad = await postRaw(hook.url, JSON.stringify({ Text: 'wrong key' }));
    assert.equal(bad.status, 400, JSON.stringify(bad.body));

    await dialog.getByRole('button', { name: 'Refresh', exact: true }).click();
    const rows = await eventually(async () => {
      const r = await logRows(dialog);
      assert.equal(r.length, 2, JSON.stringify(r));
      return r;
    }, 10_000, 'two deliveries in the log');
    // Newest first: the 400, then the 200.
    assert.equal(rows[0]![1], '400');
    assert.equal(rows[0]![2], bad.body.Code);
    assert.equal(rows[0]![5], 'Chime');
    assert.equal(rows[0]![6], '—', 'a refused post links to no message');
    assert.equal(rows[1]![1], '200');
    assert.equal(rows[1]![2], '—');
    assert.match(rows[1]![3]!, /^\d+(\.\d)? (B|KB)$/, 'a size');
    assert.match(rows[1]![4]!, /^\d+(\.\d)? ms$/, 'a latency');
    assert.equal(rows[1]![5], 'Chime');

    // "View message" goes to /rooms/{roomId}?seq=N of the stored message.
    const stored = await call(s.baseUrl, 'GET', `/api/v1/rooms/${room}/messages/${ok.body.MessageId}`, { token: alice.token });
    assert.equal(stored.status, 200, stored.text);
    const link = dialog.getByRole('table', { name: 'Delivery log' }).getByRole('link', { name: 'View message', exact: true });
    await link.waitFor();
    assert.equal(await link.count(), 1);
    assert.equal(await link.getAttribute('href'), `/rooms/${room}?seq=${stored.body.message.seq}`);
    await allControlsNamed(page);
    await shot(page, 'issue15-delivery-log');
    await link.click();
    await dialog.waitFor({ state: 'detached' });
    const article = page.locator(`article[data-message-id="${ok.body.MessageId}"]`);
    await article.waitFor();
    assert.ok(await article.isVisible());
  });

  test('Send test message adds a row to the log and the message appears in the room', async () => {
    const room = await roomWith('Tests');
    await createWebhook(s.server, alice, room, 'Pinger');
    const page = await pageFor(alice, 'Tests');
    const bobPage = await pageFor(bob, 'Tests');
    const dialog = await openDetails(page, 'Pinger');
    await dialog.getByText('No deliveries yet', { exact: true }).waitFor();

    await dialog.getByRole('button', { name: 'Send test message', exact: true }).click();
    await dialog.getByText(/^Test message posted \(200\)/).waitFor();
    const rows = await eventually(async () => {
      const r = await logRows(dialog);
      assert.equal(r.length, 1, JSON.stringify(r));
      return r;
    }, 10_000, 'the test delivery in the log');
    assert.equal(rows[0]![1], '200');
    assert.equal(rows[0]![5], 'Test');
    await dialog.getByRole('link', { name: 'View message', exact: true }).waitFor();
    await shot(page, 'issue15-test-message');

    const text = 'Test message from Carillon: this webhook works.';
    // Live for the other members, under the webhook's name.
    await bobPage.locator('article', { hasText: text }).waitFor();
    assert.match((await bobPage.locator('article', { hasText: text }).getAttribute('aria-label')) ?? '', /^Pinger \(Webhook\), /);
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await page.locator('article', { hasText: text }).waitFor();
  });

  test("settings: Save settings stores them; a value over the server's maximum shows the server's Message", async () => {
    const room = await roomWith('Settings');
    const hook = await createWebhook(s.server, alice, room, 'Limited');
    const page = await pageFor(alice, 'Settings');
    let dialog = await openDetails(page, 'Limited');
    const rate = dialog.getByLabel('Posts per second', { exact: true });
    const burst = dialog.getByLabel('Burst', { exact: true });
    const broadcast = dialog.getByRole('checkbox', { name: 'Allow @All and @Present', exact: true });
    // The server's current settings fill the form.
    const before = (await listed(room, hook.id)).settings;
    await eventually(async () => assert.equal(Number(await rate.inputValue()), before.ratePerSecond), 5_000, 'the rate shown');
    assert.equal(Number(await burst.inputValue()), before.burst);
    assert.equal(await broadcast.isChecked(), before.allowBroadcastMentions);

    await rate.fill('2');
    await burst.fill('5');
    await broadcast.uncheck();
    await dialog.getByRole('button', { name: 'Save settings', exact: true }).click();
    await dialog.getByText('Settings saved.', { exact: false }).waitFor();
    assert.deepEqual((await listed(room, hook.id)).settings, { ratePerSecond: 2, burst: 5, allowBroadcastMentions: false });

    // Too fast: the server refuses and says why; the dialog shows its Message as is.
    const refusal = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${room}/webhooks/${hook.id}`, {
      token: alice.token,
      body: { settings: { ratePerSecond: 1000, burst: 5, allowBroadcastMentions: false } },
    });
    assert.equal(refusal.status, 400, refusal.text);
    assert.equal(refusal.body.Code, 'InvalidRequest');
    await rate.fill('1000');
    await dialog.getByRole('button', { name: 'Save settings', exact: true }).click();
    const alert = dialog.getByRole('region', { name: 'Settings', exact: true }).getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.innerText(), refusal.body.Message);
    await shot(page, 'issue15-settings-refused');
    assert.deepEqual((await listed(room, hook.id)).settings, { ratePerSecond: 2, burst: 5, allowBroadcastMentions: false }, 'nothing changed');

    // Opened again, the form shows what is stored.
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    dialog = await openDetails(page, 'Limited');
    await eventually(async () => assert.equal(await dialog.getByLabel('Posts per second', { exact: true }).inputValue(), '2'), 5_000, 'the saved rate');
    assert.equal(await dialog.getByLabel('Burst', { exact: true }).inputValue(), '5');
    assert.equal(await dialog.getByRole('checkbox', { name: 'Allow @All and @Present', exact: true }).isChecked(), false);
  });

  test('regenerate keeping the old URL for 6 hours: the row says until when, and both URLs answer 200', async () => {
    const room = await roomWith('Rotation');
    const hook = await createWebhook(s.server, alice, room, 'Rotating');
    const page = await pageFor(alice, 'Rotation');
    const dialog = await openManageWebhooks(page);
    const row = webhookRow(dialog, 'Rotating');
    assert.equal(await row.getByText('Old URL works until').count(), 0);
    await row.getByRole('button', { name: 'Regenerate URL', exact: true }).click();
    const keep = dialog.getByLabel('Keep the old URL working for', { exact: true });
    await keep.waitFor();
    assert.equal(await keep.evaluate((el) => (el as unknown as { selectedOptions: ArrayLike<{ textContent: string | null }> }).selectedOptions[0]?.textContent), 'Not at all', 'the default is Chime’s');
    const choices = await keep.locator('option').allTextContents();
    assert.deepEqual(choices, ['Not at all', '1 hour', '6 hours', '24 hours']);
    await keep.selectOption({ label: '6 hours' });
    await dialog.getByText('keeps working for 6 hours').waitFor();
    await shot(page, 'issue15-regenerate-overlap');
    const started = Date.now();
    await dialog.getByRole('button', { name: 'Regenerate URL', exact: true }).click();

    const line = row.getByText(/^Old URL works until /);
    await line.waitFor();
    const newUrl = await row.getByRole('textbox', { name: 'URL of Rotating' }).inputValue();
    assert.notEqual(newUrl, hook.url);
    const stored = await listed(room, hook.id);
    assert.ok(stored.previousUrlValidUntil >= started + 6 * 3_600_000 - 60_000, `valid until ${stored.previousUrlValidUntil}`);
    assert.ok(stored.previousUrlValidUntil <= Date.now() + 6 * 3_600_000 + 60_000);
    await shot(page, 'issue15-old-url-line');

    const viaOld = await postWebhook(hook.url, 'still posting to the old URL');
    assert.equal(viaOld.status, 200, JSON.stringify(viaOld.body));
    const viaNew = await postWebhook(newUrl, 'posting to the new URL');
    assert.equal(viaNew.status, 200, JSON.stringify(viaNew.body));
    await page.locator(`article[data-message-id="${viaOld.body.MessageId}"]`).waitFor();
  });

  test('other senders: the format URLs and the signing secret copy exactly; a Slack post shows in the log as Slack', async () => {
    const room = await roomWith('Senders');
    const hook = await createWebhook(s.server, alice, room, 'Multi');
    const page = await pageFor(alice, 'Senders');
    const dialog = await openDetails(page, 'Multi');
    const clipboard = () => page.evaluate('navigator.clipboard.readText()') as Promise<string>;
    const base = hook.url.slice(0, hook.url.indexOf('?'));
    const query = hook.url.slice(hook.url.indexOf('?'));
    for (const [label, path] of [['Slack', 'slack'], ['SNS', 'sns'], ['Alertmanager', 'alertmanager'], ['Grafana', 'grafana'], ['GitHub', 'github']] as const) {
      await dialog.getByRole('button', { name: `Copy ${label} URL`, exact: true }).click();
      await eventually(async () => assert.equal(await clipboard(), `${base}/${path}${query}`), 5_000, `the ${label} URL copied`);
    }
    const secret = (await listed(room, hook.id)).signingSecret as string;
    assert.match(secret, /^\S{16,}$/);
    await dialog.getByRole('button', { name: 'Copy signing secret', exact: true }).click();
    await eventually(async () => assert.equal(await clipboard(), secret), 5_000, 'the signing secret copied');
    await dialog.getByRole('button', { name: 'Copy webhook URL', exact: true }).click();
    await eventually(async () => assert.equal(await clipboard(), hook.url), 5_000, 'the Chime URL copied');
    await shot(page, 'issue15-other-senders');

    const slack = await postRaw(`${base}/slack${query}`, JSON.stringify({ text: 'Deploy *finished*' }));
    assert.equal(slack.status, 200, JSON.stringify(slack.body));
    await dialog.getByRole('button', { name: 'Refresh', exact: true }).click();
    await eventually(async () => {
      const r = await logRows(dialog);
      assert.equal(r[0]?.[5], 'Slack', JSON.stringify(r));
      assert.equal(r[0]?.[1], '200');
    }, 10_000, 'the Slack delivery');
  });

  test('Audit log (room administrators): create, rename, regenerate and settings with who and when; Load more pages back', async () => {
    const room = await roomWith('Audited');
    const page = await pageFor(alice, 'Audited');
    let dialog = await openManageWebhooks(page);
    await dialog.getByRole('button', { name: 'New', exact: true }).click();
    await dialog.getByLabel('Webhook name', { exact: true }).fill('Audit bot');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    let row = webhookRow(dialog, 'Audit bot');
    await row.getByRole('button', { name: 'Rename', exact: true }).click();
    // While renaming, the row holds the form instead of the name.
    await dialog.getByRole('textbox', { name: 'New name for Audit bot' }).fill('Audited bot');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    row = webhookRow(dialog, 'Audited bot');
    await row.waitFor();
    await row.getByRole('button', { name: 'Regenerate URL', exact: true }).click();
    await dialog.getByRole('button', { name: 'Regenerate URL', exact: true }).click();
    await dialog.getByText(/New URL for “Audited bot” is ready/).waitFor();
    await row.getByRole('button', { name: 'Details', exact: true }).click();
    await dialog.getByLabel('Burst', { exact: true }).fill('3');
    await dialog.getByRole('button', { name: 'Save settings', exact: true }).click();
    await dialog.getByText('Settings saved.', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();

    await page.getByRole('button', { name: 'Room settings', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Audit log', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Audit log' });
    const table = dialog.getByRole('table', { name: 'Audit log' });
    await table.waitFor();
    const entries = async () =>
      table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
    const first = await entries();
    assert.deepEqual(
      first.map((r) => r[2]),
      ['Changed settings', 'Regenerated URL', 'Renamed', 'Created'],
      `newest first: ${JSON.stringify(first)}`,
    );
    for (const r of first) {
      assert.equal(r[1], 'Admin', 'who');
      assert.match(r[3]!, /^Audit(ed)? bot$/, 'the webhook');
      assert.ok(r[0]!.length > 0, 'when');
    }
    assert.match(first[2]![4]!, /Audit bot/, `the rename's details: ${first[2]![4]}`);
    assert.match(first[2]![4]!, /Audited bot/);
    assert.equal(await dialog.getByRole('button', { name: 'Load more', exact: true }).count(), 0, 'one page only');
    await shot(page, 'issue15-audit-log');
    await dialog.getByRole('button', { name: 'Done', exact: true }).click();

    // Sixty more changes: the first page holds the newest, Load more brings the rest.
    const hook = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${room}/webhooks`, { token: alice.token })).body.webhooks[0] as { id: string };
    for (let i = 1; i <= 60; i++) {
      const r = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${room}/webhooks/${hook.id}`, { token: alice.token, body: { name: `Audited bot ${i}` } });
      assert.equal(r.status, 200, r.text);
    }
    await page.getByRole('button', { name: 'Room settings', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Audit log', exact: true }).click();
    await table.waitFor();
    const paged = await entries();
    assert.ok(paged.length < 64, `a first page, not everything (${paged.length})`);
    assert.equal(paged[0]![2], 'Renamed');
    assert.equal(paged.some((r) => r[2] === 'Created'), false);
    const more = dialog.getByRole('button', { name: 'Load more', exact: true });
    while ((await more.count()) > 0) {
      const n = (await entries()).length;
      await more.click();
      await eventually(async () => assert.ok((await entries()).length > n || (await more.count()) === 0), 10_000, 'the next page');
    }
    const all = await entries();
    assert.equal(all.length, 64, 'every change once');
    assert.equal(new Set(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit-id')))).size, 64, 'no entry twice');
    assert.equal(all[all.length - 1]![2], 'Created');

    // A plain member has no Audit log (nor Manage webhooks) and the API refuses them.
    const bobPage = await pageFor(bob, 'Audited');
    await bobPage.getByRole('button', { name: 'Room settings', exact: true }).click();
    await bobPage.getByRole('menuitem', { name: 'Add members', exact: true }).waitFor();
    assert.equal(await bobPage.getByRole('menuitem', { name: 'Audit log', exact: true }).count(), 0);
    assert.equal(await bobPage.getByRole('menuitem', { name: 'Manage webhooks', exact: true }).count(), 0);
    const refused = await call(s.baseUrl, 'GET', `/api/v1/rooms/${room}/audit`, { token: bob.token });
    assert.equal(refused.status, 403, refused.text);
  });

  test('failure notice: after 20 failing posts an administrator sees the banner (not a plain member), and the row a Failing badge', async () => {
    const room = await roomWith('Alerts');
    const hook: TestWebhook = await createWebhook(s.server, alice, room, 'Flaky');
    const adminPage = await pageFor(alice, 'Alerts');
    const memberPage = await pageFor(bob, 'Alerts');

    for (let i = 0; i < 20; i++) {
      const r = await postRaw(hook.url, JSON.stringify({ Message: `bad body ${i}` }));
      assert.equal(r.status, 400, JSON.stringify(r.body));
    }
    const banner = adminPage.locator('.banner-webhook-failing');
    await banner.waitFor({ timeout: 15_000 });
    const text = await banner.locator('.banner-text').innerText();
    assert.match(text, /^Webhook “Flaky” failed (\d+) times in the last 10 minutes \(400 InvalidPayload\)$/);
    assert.ok(Number(/failed (\d+) times/.exec(text)![1]) >= 20, text);
    await shot(adminPage, 'issue15-failing-banner');

    // The member's page is live in the same room and gets nothing.
    await memberPage.waitForTimeout(1_500);
    assert.equal(await memberPage.getByText(/failed \d+ times in the last/).count(), 0, 'no notice for a plain member');

    await banner.getByRole('button', { name: 'Open Manage webhooks', exact: true }).click();
    const dialog = adminPage.getByRole('dialog', { name: 'Manage webhooks' });
    await dialog.waitFor();
    const row = webhookRow(dialog, 'Flaky');
    await row.getByText('Failing', { exact: true }).waitFor();
    await shot(adminPage, 'issue15-failing-row');
    await row.getByRole('button', { name: 'Details', exact: true }).click();
    await dialog.getByRole('heading', { level: 3, name: 'Flaky' }).waitFor();
    await dialog.getByRole('note').filter({ hasText: /Failed \d+ times since .+ \(last: 400 InvalidPayload\)/ }).waitFor();
    await shot(adminPage, 'issue15-failing-details');
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    assert.equal(await banner.count(), 0, 'opened: the notice is done');
  });

  test('phone, dark: the Details page fits the screen; the log scrolls inside itself', async () => {
    const room = await roomWith('Phone');
    const hook = await createWebhook(s.server, alice, room, 'Mobile hook');
    for (let i = 0; i < 3; i++) assert.equal((await postWebhook(hook.url, `phone post ${i}`)).status, 200);
    const page = await pageFor(alice, 'Phone', 'phone', 'dark');
    const dialog = await openDetails(page, 'Mobile hook');
    await eventually(async () => assert.equal((await logRows(dialog)).length, 3), 10_000, 'three deliveries');
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    const dialogOverflow = await dialog.evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(dialogOverflow <= 0, `the dialog scrolls sideways by ${dialogOverflow}px`);
    await shot(page, 'issue15-phone-details');
    await dialog.getByRole('button', { name: 'Save settings', exact: true }).scrollIntoViewIfNeeded();
    await shot(page, 'issue15-phone-settings');
  });
});
