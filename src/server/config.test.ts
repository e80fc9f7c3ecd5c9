import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  test('defaults: port 8080, SQLite in ./data, rate 1/s burst 1, frozen', () => {
    const { config } = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.publicUrl, 'http://localhost:8080');
    assert.equal(config.publicUrlSet, false, 'the default is not a PUBLIC_URL someone chose (the web client warns about it)');
    assert.match(config.dataDir, /\/data$/);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.webhookRatePerSecond, 1);
    assert.equal(config.webhookBurst, 1);
    assert.equal(config.httpsPort, 8443);
    assert.ok(Object.isFrozen(config));
  });

  test('flags override the environment; both forms of flag work; other arguments pass through', () => {
    const { config, rest } = loadConfig({ PORT: '1000', PUBLIC_URL: 'https://chat.example.com/' }, ['serve', '--port', '2000', '--webhook-burst=5', '--help']);
    assert.equal(config.port, 2000);
    assert.equal(config.webhookBurst, 5);
    assert.equal(config.publicUrl, 'https://chat.example.com');
    assert.equal(config.publicUrlSet, true);
    assert.equal(loadConfig({ PUBLIC_URL: 'http://localhost:8080' }).config.publicUrlSet, true, 'set, even to the default');
    assert.equal(loadConfig({ PUBLIC_URL: '' }).config.publicUrlSet, false, 'empty means unset');
    assert.deepEqual(rest, ['serve', '--help']);
  });

  test('every problem is reported at once', () => {
    try {
      loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', PUBLIC_URL: 'ftp://x', SECRET: 'short', TLS_CERT_FILE: 'c.pem', REDIS_URL: 'redis://127.0.0.1:6379' });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 6, e.message);
      assert.match(e.message, /REDIS_URL is for several nodes sharing one PostgreSQL database/);
      assert.match(e.message, /PORT/);
      assert.match(e.message, /LOG_LEVEL/);
      assert.match(e.message, /PUBLIC_URL/);
      assert.match(e.message, /SECRET .* at least 32/);
      assert.match(e.message, /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    }
  });
});
