/**
 * Route schemas compile on first use or ahead of it (deferred-compiles.ts): compiling them all in
 * the background leaves nothing pending, and validation and serialization answer exactly as when
 * each compiles at its first request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer, type TestUser, call, setupAdmin, startTestServer } from '../../test-support/server.js';

describe('route schemas compiled ahead of first use', () => {
  let lazy: TestServer;
  let ahead: TestServer;
  let lazyAdmin: TestUser;
  let aheadAdmin: TestUser;
  before(async () => {
    [lazy, ahead] = await Promise.all([startTestServer(), startTestServer()]);
    assert.ok(ahead.app.carillon.schemas.size > 20, 'every route\'s schemas wait, none compiled at start');
    await ahead.app.carillon.schemas.runAll();
    assert.equal(ahead.app.carillon.schemas.size, 0);
    lazyAdmin = await setupAdmin(lazy.baseUrl);
    aheadAdmin = await setupAdmin(ahead.baseUrl);
  });
  after(() => Promise.all([lazy.close(), ahead.close()]));

  test('a compilation done at first use is not done again by the background run', async () => {
    const before = lazy.app.carillon.schemas.size;
    await call(lazy.baseUrl, 'GET', '/api/v1/rooms', { token: lazyAdmin.token });
    assert.ok(lazy.app.carillon.schemas.size < before);
  });

  test('the same answers either way: a refused body, an accepted one, a coerced query', async () => {
    const requests: [string, string, unknown][] = [
      ['POST', '/api/v1/rooms', { name: 'x', extra: true }],
      ['POST', '/api/v1/rooms', { name: 42 }],
      ['POST', '/api/v1/rooms', { name: 'Deployments' }],
    ];
    for (const [method, path, body] of requests) {
      const [a, b] = await Promise.all([
        call(lazy.baseUrl, method, path, { token: lazyAdmin.token, body }),
        call(ahead.baseUrl, method, path, { token: aheadAdmin.token, body }),
      ]);
      assert.equal(a.status, b.status, `${method} ${path} ${JSON.stringify(body)}`);
      if (a.status >= 400) assert.deepEqual(a.body, b.body);
      else assert.deepEqual(Object.keys(a.body.room).sort(), Object.keys(b.body.room).sort());
    }
    const [a, b] = await Promise.all([
      call(lazy.baseUrl, 'GET', '/api/v1/rooms/not-a-uuid/messages?limit=abc', { token: lazyAdmin.token }),
      call(ahead.baseUrl, 'GET', '/api/v1/rooms/not-a-uuid/messages?limit=abc', { token: aheadAdmin.token }),
    ]);
    assert.equal(a.status, 400);
    assert.deepEqual(a.body, b.body);
  });
});
