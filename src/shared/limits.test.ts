import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ALIAS_INPUT_PATTERN, ALIAS_PATTERN } from './limits.js';

// Browsers compile an input's `pattern` as ^(?:pattern)$ with the `v` flag (HTML standard).
const asBrowser = new RegExp(`^(?:${ALIAS_INPUT_PATTERN})$`, 'v');
const asServer = new RegExp(ALIAS_PATTERN, 'u');

test('the alias input pattern compiles under the v flag and accepts exactly the aliases the server does', () => {
  for (const alias of ['ada', 'mary.major_2-ops', '-', '...']) assert.ok(asBrowser.test(alias), alias);
  for (const alias of ['Mary Major!', 'mary major', 'Ada', 'a/b', 'a\\b', 'é', '']) assert.ok(!asBrowser.test(alias), alias);
  const chars = fc.constantFrom(...'abcxyz0189._-AZ !@\\/[]&|é'.split(''));
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 12 }), (cs) => {
      const s = cs.join('');
      assert.equal(asBrowser.test(s), asServer.test(s), JSON.stringify(s));
    }),
  );
});
