import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderedId } from './ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('orderedId (UUID version 7)', () => {
  test('is a UUID of version 7 and variant 10 that carries its millisecond', () => {
    const at = Date.UTC(2026, 11, 5, 17, 0, 0, 123);
    const id = orderedId(at + 3_600_000);
    assert.match(id, V7);
    assert.equal(msOf(id), at + 3_600_000);
  });

  test('strictly increasing as strings, also when the clock stands still or steps back', () => {
    const base = Date.now() + 7_200_000;
    const ids: string[] = [];
    // 5,000 in one millisecond overflows the 12-bit counter: the id moves on to the next millisecond.
    for (let i = 0; i < 5_000; i++) ids.push(orderedId(base));
    ids.push(orderedId(base - 60_000));
    ids.push(orderedId(base + 10));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
    for (const id of ids) assert.match(id, V7);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(msOf(ids.at(-1)!), base + 10, 'a later clock reading starts a new millisecond');
  });

  test('ids of the same millisecond still differ in their random bits', () => {
    const base = Date.now() + 10_800_000;
    const tails = new Set(Array.from({ length: 1_000 }, () => orderedId(base).slice(19)));
    assert.equal(tails.size, 1_000);
  });
});
