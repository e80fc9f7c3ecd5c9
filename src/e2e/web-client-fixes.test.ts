/**
 * Web client fixes of issue 12, each end to end in Debian's Chromium against a real server:
 * the alias `pattern` is one the browser can compile (HTML compiles it with the `v` flag) and so
 * checks; a room opens on its newest message even when images above it load late; "Cannot reach
 * the server" under the composer clears once the server is back and the draft then sends; and
 * sending while reading history scrolls to the message just sent.
 */
import assert from 'node:assert/strict';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { Locator } from 'playwright-core';
import { chromiumAvailable, startWebTestServer } from '../test-support/browser.js';
import { addMember, call, createRoom, createUser, setupAdmin } from '../test-support/server.js';
import { chromiumForSuite, eventually, newPage, openRoom, PASSWORD, postMessage, shot, signIn, type ViewportName, waitForLiveStream } from '../test-support/web-page.js';

const enabled = chromiumAvailable();

// ---- a loopback image host whose answers come late, as from a slow third-party server ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A solid-colour RGB PNG of the given size (a real raster with real dimensions). */
function solidPng(width: number, height: number, rgb: readonly [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

interface ImageHost {
  url(name: string): string;
  /** Images answered in full so far. */
  served(): number;
  /** Sends the held image's first bytes (its size and first rows), once it has been asked for. */
  sendStart(): Promise<void>;
  /** Sends the rest of the held image. */
  finish(): void;
  close(): Promise<void>;
}

/**
 * When image n is answered: between 300 and 800 ms, in pairs a few milliseconds apart, as parallel
 * requests to one slow host finish (so one image is often laid out just after another one loaded).
 */
function delayFor(n: number): number {
  return [300, 550, 800][Math.floor(n / 2) % 3]! + (n % 2) * 4;
}

/**
 * Serves /<n>.png (600×400) after delayFor(n), and /held.png (600×400) only as the test says: a
 * large image on a slow link, whose size is known (and laid out) long before it has loaded.
 */
async function startImageHost(): Promise<ImageHost> {
  const colours: (readonly [number, number, number])[] = [
    [46, 125, 50],
    [21, 101, 192],
    [198, 40, 40],
    [249, 168, 37],
  ];
  const pngs = colours.map((c) => solidPng(600, 400, c));
  const heldPng = solidPng(600, 400, [96, 125, 139]);
  let served = 0;
  let held: { res: ServerResponse; started: boolean } | null = null;
  let heldAsked: () => void = () => {};
  const asked = new Promise<void>((r) => (heldAsked = r));
  const server: Server = createServer((req, res) => {
    if (req.url === '/held.png') {
      held = { res, started: false };
      heldAsked();
      return;
    }
    const n = Number(/^\/(\d+)\.png$/.exec(req.url ?? '')?.[1] ?? NaN);
    if (!Number.isInteger(n)) {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
      res.end(pngs[n % pngs.length], () => served++);
    }, delayFor(n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const split = 8 + 25 + 64; // signature, IHDR, and the start of IDAT
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    served: () => served,
    async sendStart() {
      await asked;
      const h = held!;
      h.started = true;
      h.res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'content-length': String(heldPng.length) });
      h.res.write(heldPng.subarray(0, split));
    },
    finish() {
      assert.ok(held?.started, 'the held image was started');
      held.res.end(heldPng.subarray(split));
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---- what is on screen (the test compiles without the DOM library: just the fields read) ----

interface FormField {
  validity: { patternMismatch: boolean; valid: boolean };
  validationMessage: string;
}
interface LoadingImage {
  src: string;
  complete: boolean;
  naturalHeight: number;
  getBoundingClientRect(): { height: number };
}
interface Scroller {
  scrollHeight: number;
  scrollTop: number;
  clientHeight: number;
  getBoundingClientRect(): { top: number; bottom: number };
}

interface Placement {
  /** The element's top and bottom minus the scroller's visible top and bottom (px). */
  top: number;
  bottom: number;
  /** How far the scroller is from its bottom (px). */
  fromBottom: number;
}

async function placement(message: Locator): Promise<Placement> {
  return message.evaluate((el) => {
    const s = (el as unknown as { closest(selector: string): Scroller | null }).closest('.message-scroller');
    if (!s) throw new Error('the message is not in the message list');
    const box = s.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return { top: r.top - box.top, bottom: r.bottom - box.bottom, fromBottom: s.scrollHeight - s.scrollTop - s.clientHeight };
  });
}

/** The whole element lies inside the scroller's visible area. */
async function fullyVisible(message: Locator): Promise<void> {
  const p = await placement(message);
  assert.ok(p.top >= -1 && p.bottom <= 1, `the message is not fully in view: ${JSON.stringify(p)}`);
}

describe('web client fixes (issue 12) in Chromium', { skip: enabled ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  const browser = chromiumForSuite();

  test('the Alias pattern compiles under the v flag, so setup and New user refuse an invalid alias', async () => {
    const s = await startWebTestServer();
    const { ctx, page, problems, consoleLines } = await newPage(browser(), s, 'desktop');
    try {
      await page.goto('/');
      const alias = page.getByLabel('Alias', { exact: true });
      await alias.fill('Mary Major!');
      assert.equal(await alias.inputValue(), 'mary major!', 'the field lower-cases as it goes');
      assert.equal(await alias.evaluate((el) => (el as unknown as FormField).validity.patternMismatch), true, 'the browser checks the pattern');
      assert.equal(await alias.evaluate((el) => el.matches(':invalid')), true);

      // The browser refuses to submit: still first-run setup, no account made.
      await page.getByLabel('Email', { exact: true }).fill('mary@example.com');
      await page.getByLabel('Display name', { exact: true }).fill('Mary Major');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Create administrator', exact: true }).click();
      assert.notEqual(await alias.evaluate((el) => (el as unknown as FormField).validationMessage), '');
      assert.equal((await call(s.baseUrl, 'GET', '/api/v1/setup')).body.needsSetup, true);

      // Every character the server's alias rule allows is accepted by the browser too.
      await alias.fill('mary.major_2-ops');
      assert.equal(await alias.evaluate((el) => (el as unknown as FormField).validity.valid), true);
      await page.getByRole('button', { name: 'Create administrator', exact: true }).click();
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();

      // The same rule in New user (system administrators).
      await page.getByRole('button', { name: 'New user', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'New user' });
      const newAlias = dialog.getByLabel('Alias', { exact: true });
      await newAlias.fill('John Doe?');
      assert.equal(await newAlias.evaluate((el) => (el as unknown as FormField).validity.patternMismatch), true);
      await newAlias.fill('john-doe');
      assert.equal(await newAlias.evaluate((el) => (el as unknown as FormField).validity.valid), true);

      const patternErrors = consoleLines.filter((l) => /pattern/i.test(l));
      assert.deepEqual(patternErrors, [], 'Chromium reported no pattern it could not compile');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  for (const vp of ['desktop', 'phone'] as const satisfies readonly ViewportName[]) {
    test(`${vp}: a room opens on its newest message although the images above it load late`, async () => {
      const s = await startWebTestServer();
      const images = await startImageHost();
      const admin = await setupAdmin(s.baseUrl, 'ada');
      const roomId = await createRoom(s.baseUrl, admin, 'charts');
      const carol = await createUser(s.baseUrl, admin, 'carol', 'Carol Chen');
      await addMember(s.baseUrl, admin, roomId, carol);
      await postMessage(s.baseUrl, admin, roomId, 'Nightly dashboards follow.');
      const count = 6;
      for (let n = 0; n < count; n++) await postMessage(s.baseUrl, admin, roomId, `/md Chart ${n + 1}:\n\n![chart ${n + 1}](${images.url(`${n}.png`)})`);
      await postMessage(s.baseUrl, admin, roomId, `/md The full-size heatmap:\n\n![heatmap](${images.url('held.png')})`);
      const last = await postMessage(s.baseUrl, admin, roomId, '@carol the latency chart above needs you before the release');
      const { ctx, page, problems } = await newPage(browser(), s, vp);
      const imageState = () =>
        page.locator('img.md-img').evaluateAll((imgs) =>
          (imgs as unknown as LoadingImage[]).map((i) => ({ src: i.src, complete: i.complete, natural: i.naturalHeight, shown: Math.round(i.getBoundingClientRect().height) })),
        );
      try {
        await signIn(page, carol.email);
        // Desktop opens the only room at once; the phone opens it from the room list.
        if (vp === 'phone') await openRoom(page, vp, 'charts');
        await page.getByRole('heading', { level: 1, name: 'charts' }).waitFor();
        const newest = page.locator(`article[data-message-id="${last.id}"]`);
        await newest.waitFor();

        // The charts arrive (late, nearly together) and are laid out: the newest message is in view.
        await eventually(
          async () => {
            const charts = (await imageState()).filter((i) => !i.src.endsWith('/held.png'));
            assert.equal(charts.length, count);
            assert.ok(charts.every((i) => i.complete && i.natural === 400 && i.shown > 100), JSON.stringify(charts));
          },
          20_000,
          'the charts to load',
        );
        assert.equal(images.served(), count);
        await eventually(() => fullyVisible(newest), 5_000, 'the newest message in view once the charts loaded');

        // The heatmap's size arrives long before its pixels (a big image on a slow link): it takes
        // its room in the list at once, and the newest message stays in view.
        await images.sendStart();
        await eventually(
          async () => {
            const heatmap = (await imageState()).find((i) => i.src.endsWith('/held.png'));
            assert.ok(heatmap && !heatmap.complete && heatmap.shown > 100, JSON.stringify(heatmap));
          },
          10_000,
          'the heatmap laid out at its size',
        );
        await eventually(() => fullyVisible(newest), 5_000, 'the newest message in view while the heatmap loads');

        images.finish();
        await eventually(
          async () => assert.ok((await imageState()).every((i) => i.complete && i.natural === 400)),
          10_000,
          'every image loaded',
        );
        await eventually(() => fullyVisible(newest), 5_000, 'the newest message in view after every image loaded');
        const p = await placement(newest);
        assert.ok(p.fromBottom <= 1, `the list is ${p.fromBottom}px short of its bottom`);
        assert.equal(await page.getByRole('button', { name: 'New messages' }).count(), 0);
        await shot(page, `${vp}-fixes-images-bottom`);
        assert.deepEqual(problems, []);
      } finally {
        await ctx.close();
        await images.close();
        await s.close();
      }
    });
  }

  test('desktop: "Cannot reach the server" clears when the server is back, and the draft then sends', async () => {
    const s = await startWebTestServer();
    const admin = await setupAdmin(s.baseUrl, 'ada');
    const roomId = await createRoom(s.baseUrl, admin, 'ops');
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    const draft = 'Rolling back the deploy now';
    try {
      await signIn(page, admin.email);
      await page.getByRole('heading', { level: 1, name: 'ops' }).waitFor();
      await waitForLiveStream(page);
      const box = page.getByRole('textbox', { name: 'Message', exact: true });
      const composerError = page.locator('.composer-error');

      await s.restart(async () => {
        // No server listens on the port now.
        await page.getByText('Connection lost').waitFor({ timeout: 15_000 });
        await box.fill(draft);
        await box.press('Enter');
        await composerError.getByText('Cannot reach the server').waitFor();
        assert.equal(await box.inputValue(), draft, 'the draft is kept');
        await shot(page, 'desktop-fixes-cannot-reach');
      });

      // Back: the stream reconnects, and the error about the connection goes by itself.
      await waitForLiveStream(page, 30_000);
      await eventually(async () => assert.equal(await composerError.count(), 0), 10_000, 'the composer error to clear');
      assert.equal(await box.inputValue(), draft, 'the draft is still there');

      await box.press('Enter');
      const sent = page.locator('article.message', { hasText: draft });
      await sent.waitFor();
      await eventually(async () => assert.equal(await box.inputValue(), ''), 5_000, 'the composer to clear');
      assert.equal(await composerError.count(), 0);
      const stored = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token });
      assert.equal(stored.status, 200);
      const contents = (stored.body.messages as { content: string; sender: { id: string } }[]).map((m) => [m.content, m.sender.id]);
      assert.deepEqual(contents, [[draft, admin.id]], 'sent once, by the user');
      assert.equal(await page.locator('article.message').count(), 1);
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });

  test('desktop: sending while reading history scrolls to the message sent; others\' messages do not', async () => {
    const s = await startWebTestServer();
    const admin = await setupAdmin(s.baseUrl, 'ada');
    const roomId = await createRoom(s.baseUrl, admin, 'history');
    const bob = await createUser(s.baseUrl, admin, 'bob', 'Bob Builder');
    await addMember(s.baseUrl, admin, roomId, bob);
    for (let n = 1; n <= 60; n++) await postMessage(s.baseUrl, bob, roomId, `status line ${n}\nbuild ${1000 + n}: all checks green`);
    const { ctx, page, problems } = await newPage(browser(), s, 'desktop');
    try {
      await signIn(page, admin.email);
      await openRoom(page, 'desktop', 'history');
      await waitForLiveStream(page);
      const newestBefore = page.locator('article.message', { hasText: 'status line 60' });
      await eventually(() => fullyVisible(page.locator('article.message').last()), 5_000, 'the room opened at its bottom');

      // The reader scrolls up with the wheel, well away from the bottom (and from the top, which loads history).
      const scroller = page.locator('.message-scroller');
      await scroller.hover();
      await page.mouse.wheel(0, -700);
      const scrolledTo = await eventually(
        async () => {
          // Settled (the wheel may scroll smoothly) and well above the bottom.
          const before = await scroller.evaluate((el) => el.scrollTop);
          await new Promise((r) => setTimeout(r, 200));
          const p = await placement(newestBefore);
          const now = await scroller.evaluate((el) => el.scrollTop);
          assert.equal(now, before, 'still scrolling');
          assert.ok(p.fromBottom > 500 && p.top > 0, `only ${p.fromBottom}px from the bottom`);
          return now;
        },
        5_000,
        'the list scrolled up',
      );
      assert.ok(scrolledTo > 400, 'not near the top');

      // Someone else's message does not move the reader; it offers the jump instead.
      const theirs = await postMessage(s.baseUrl, bob, roomId, 'bob: one more status');
      await page.locator(`article[data-message-id="${theirs.id}"]`).waitFor({ state: 'attached' });
      await page.getByRole('button', { name: 'New messages' }).waitFor();
      assert.equal(await scroller.evaluate((el) => el.scrollTop), scrolledTo, 'the reader kept their place');

      // Their own message: the list goes to the bottom and shows it.
      const box = page.getByRole('textbox', { name: 'Message', exact: true });
      await box.fill('Read it all, shipping now');
      await box.press('Enter');
      const mine = page.locator('article.message', { hasText: 'Read it all, shipping now' });
      await mine.waitFor();
      await eventually(() => fullyVisible(mine), 5_000, 'the sent message in view');
      const p = await placement(mine);
      assert.ok(p.fromBottom <= 1, `the list is ${p.fromBottom}px short of its bottom`);
      await eventually(async () => assert.equal(await page.getByRole('button', { name: 'New messages' }).count(), 0), 5_000, 'the jump button to go');
      await shot(page, 'desktop-fixes-sent-while-scrolled-up');

      // And it stays pinned: the next message from someone else shows at the bottom too.
      const next = await postMessage(s.baseUrl, bob, roomId, 'bob: thanks!');
      await eventually(() => fullyVisible(page.locator(`article[data-message-id="${next.id}"]`)), 5_000, 'the next message in view');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
      await s.close();
    }
  });
});
