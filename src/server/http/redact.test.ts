import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from './redact.js';

const token = 'aB3'.repeat(24);

test('the token query parameter is redacted, whatever its spelling or position', () => {
  for (const [url, expected] of <[string, string][]>[
    [`/incomingwebhooks/x?token=${token}`, '/incomingwebhooks/x?token=REDACTED'],
    [`/incomingwebhooks/x?format=json&token=${token}`, '/incomingwebhooks/x?format=json&token=REDACTED'],
    [`/incomingwebhooks/x?Token=abc&token=def`, '/incomingwebhooks/x?Token=REDACTED&token=REDACTED'],
    [`/incomingwebhooks/x?%74oken=abc`, '/incomingwebhooks/x?%74oken=REDACTED'],
    [`/incomingwebhooks/x?token[]=abc&token%5Ba%5D=def&token[a]=ghi`, '/incomingwebhooks/x?token[]=REDACTED&token%5Ba%5D=REDACTED&token[a]=REDACTED'],
    [`/incomingwebhooks/x?token=abc%0d%0aSet-Cookie:%20x=1`, '/incomingwebhooks/x?token=REDACTED'],
  ]) {
    assert.equal(redactUrl(url), expected);
  }
});

test('a token anywhere else (in the path, behind %3F, under another name) is redacted too', () => {
  // The run of letters and digits may take a neighbour along ("3D" of %3D): the token is gone either way.
  assert.equal(redactUrl(`/incomingwebhooks/x%3Ftoken%3D${token}`), '/incomingwebhooks/x%3Ftoken%REDACTED');
  assert.equal(redactUrl(`/incomingwebhooks/x/${token}`), '/incomingwebhooks/x/REDACTED');
  assert.equal(redactUrl(`/incomingwebhooks/x?t=${token}`), '/incomingwebhooks/x?t=REDACTED');
});

test('other URLs are left alone', () => {
  for (const url of ['/api/v1/rooms/0b3f5a5e-8c1d-4e0a-9b7a-2f6c1d9e4a71/messages?after=3&limit=50', '/healthz', '/api/v1/stream?tokens=1']) {
    assert.equal(redactUrl(url), url);
  }
});
