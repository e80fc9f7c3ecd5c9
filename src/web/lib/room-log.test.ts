/// <reference types="node" />
/** The client's half of SPEC 5's guarantee: each message once, in seq order, no gap. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../shared/api-types';
import { MAX_MESSAGES_IN_MEMORY, emptyLog, loadLatest, loadOlder, olderCursor, receive, receiveMany } from './room-log';

function msg(seq: number): Message {
  return {
    id: `m${seq}`,
    roomId: 'r',
    seq,
    sender: { type: 'user', id: 'u', name: 'U' },
    content: `message ${seq}`,
    html: `<p>message ${seq}</p>`,
    mentions: { all: false, present: false, userIds: [] },
    createdAt: seq * 1000,
  };
}
const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => msg(a + i));

describe('room log', () => {
  test('appends the next seq and drops duplicates', () => {
    let log = loadLatest(emptyLog(0), range(1, 3)).log;
    const r = receive(log, msg(4));
    assert.deepEqual(seqs(r.accepted), [4]);
    log = r.log;
    assert.equal(log.watermark, 4);
    const dup = receiveMany(log, [msg(2), msg(4)]);
    assert.deepEqual(dup.accepted, []);
    assert.equal(dup.log, log, 'an unchanged log keeps its identity');
    assert.equal(dup.gapAfter, null);
    assert.deepEqual(seqs(log.messages), [1, 2, 3, 4]);
  });

  test('a message past a gap waits until the gap is filled, then follows in order', () => {
    const log = loadLatest(emptyLog(0), range(1, 2)).log;
    const early = receive(log, msg(5));
    assert.deepEqual(early.accepted, []);
    assert.equal(early.gapAfter, 2);
    assert.deepEqual(seqs(early.log.pending), [5]);
    assert.deepEqual(seqs(early.log.messages), [1, 2]);
    const filled = receiveMany(early.log, [msg(4), msg(3)]);
    assert.deepEqual(seqs(filled.accepted), [3, 4, 5]);
    assert.equal(filled.gapAfter, null);
    assert.deepEqual(seqs(filled.log.messages), [1, 2, 3, 4, 5]);
    assert.deepEqual(filled.log.pending, []);
  });

  test('a resume replay overlapping live delivery yields each message once', () => {
    let log = loadLatest(emptyLog(0), range(1, 10)).log;
    const seen: number[] = [];
    for (const batch of [[11, 12], [11, 12, 13], [13, 14], [12, 15]]) {
      const r = receiveMany(log, batch.map(msg));
      seen.push(...seqs(r.accepted));
      log = r.log;
    }
    assert.deepEqual(seen, [11, 12, 13, 14, 15]);
  });

  test('a room never opened counts live messages from the watermark it was given', () => {
    const log = emptyLog(40);
    assert.equal(log.loaded, false);
    const r = receiveMany(log, [msg(41), msg(42)]);
    assert.deepEqual(seqs(r.accepted), [41, 42]);
    assert.equal(r.log.watermark, 42);
    // Opening it later merges the latest page without counting what was already accepted.
    const opened = loadLatest(r.log, range(1, 43).slice(-50));
    assert.deepEqual(seqs(opened.accepted), [43]);
    assert.deepEqual(seqs(opened.log.messages), range(1, 43).map((m) => m.seq));
    assert.equal(opened.log.hasOlder, false);
  });

  test('the latest page of a long room leaves older history to load on scroll', () => {
    const opened = loadLatest(emptyLog(100), range(51, 100));
    assert.deepEqual(opened.accepted, []);
    assert.equal(opened.log.hasOlder, true);
    assert.equal(olderCursor(opened.log), 51);
    const older = loadOlder(opened.log, range(1, 50));
    assert.deepEqual(seqs(older.messages), range(1, 100).map((m) => m.seq));
    assert.equal(older.hasOlder, false);
    assert.equal(olderCursor(older), null);
  });

  test('live messages held before the first page stay when they join it, and a hole drops the older part', () => {
    // Live 11..12 arrived while closed; then 60 more were posted before the room was opened.
    const live = receiveMany(emptyLog(10), [msg(11), msg(12)]).log;
    const opened = loadLatest(live, range(23, 72));
    assert.deepEqual(seqs(opened.log.messages), range(23, 72).map((m) => m.seq));
    assert.equal(opened.log.hasOlder, true);
    assert.equal(opened.log.watermark, 72);
  });

  test('pending messages are released by the latest page', () => {
    const log = receive(loadLatest(emptyLog(0), range(1, 2)).log, msg(6)).log;
    const opened = loadLatest({ ...log, loaded: false }, range(1, 5));
    assert.deepEqual(seqs(opened.accepted), [3, 4, 5, 6]);
    assert.equal(opened.log.watermark, 6);
    assert.equal(opened.gapAfter, null);
  });

  test('an empty room loads as complete', () => {
    const opened = loadLatest(emptyLog(0), []);
    assert.equal(opened.log.loaded, true);
    assert.equal(opened.log.hasOlder, false);
    const first = receive(opened.log, msg(1));
    assert.deepEqual(seqs(first.log.messages), [1]);
    assert.equal(first.log.hasOlder, false);
  });

  test('older pages that do not join the run are not shown with a hole', () => {
    const opened = loadLatest(emptyLog(100), range(51, 100)).log;
    const wrong = loadOlder(opened, range(1, 40));
    assert.deepEqual(seqs(wrong.messages), range(51, 100).map((m) => m.seq));
  });

  test('memory stays bounded; trimmed history can be fetched again', () => {
    let log = loadLatest(emptyLog(0), []).log;
    log = receiveMany(log, range(1, MAX_MESSAGES_IN_MEMORY + 20)).log;
    assert.equal(log.messages.length, MAX_MESSAGES_IN_MEMORY);
    assert.equal(log.messages[0]!.seq, 21);
    assert.equal(log.hasOlder, true);
    assert.equal(olderCursor(log), 21);
  });
});
