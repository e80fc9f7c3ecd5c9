/// <reference types="node" />
/**
 * The client's half of SPEC 5's guarantee (each event once, in seq order, no gap) with issue 14's
 * changes: edits, deletions and reactions take seqs too, so message seqs have gaps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../shared/api-types';
import { type LogEvent, MAX_MESSAGES_IN_MEMORY, createdEvent, emptyLog, loadLatest, loadOlder, mergeFetched, olderCursor, receiveEvents } from './room-log';

const PAGE = 50;

function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    roomId: 'r',
    seq,
    sender: { type: 'user', id: 'u', name: 'U' },
    content: `message ${seq}`,
    html: `<p>message ${seq}</p>`,
    mentions: { all: false, present: false, userIds: [] },
    createdAt: seq * 1000,
    editedAt: null,
    deletedAt: null,
    reactions: [],
    ...over,
  };
}
const created = (seq: number) => createdEvent(msg(seq));
const edited = (seq: number, of: number, content: string): LogEvent => ({ seq, kind: 'updated', message: msg(of, { content, html: `<p>${content}</p>`, editedAt: seq * 1000 }) });
const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => msg(a + i));
const content = (ms: readonly Message[], seq: number) => ms.find((m) => m.seq === seq)?.content;

describe('room log', () => {
  test('appends the next seq and drops duplicates', () => {
    let log = loadLatest(emptyLog(3), range(1, 3), 3, PAGE);
    const r = receiveEvents(log, [created(4)]);
    assert.deepEqual(seqs(r.accepted), [4]);
    log = r.log;
    assert.equal(log.watermark, 4);
    const dup = receiveEvents(log, [created(2), created(4)]);
    assert.deepEqual(dup.accepted, []);
    assert.equal(dup.log, log, 'an unchanged log keeps its identity');
    assert.equal(dup.gapAfter, null);
    assert.deepEqual(seqs(log.messages), [1, 2, 3, 4]);
  });

  test('changes take seqs: the watermark counts them, messages keep their own seq, and later messages follow the gap', () => {
    let log = loadLatest(emptyLog(3), range(1, 3), 3, PAGE);
    const r = receiveEvents(log, [edited(4, 2, 'fixed'), created(5), edited(6, 5, 'again')]);
    log = r.log;
    assert.equal(log.watermark, 6);
    assert.deepEqual(seqs(log.messages), [1, 2, 3, 5]);
    assert.equal(content(log.messages, 2), 'fixed');
    assert.equal(content(log.messages, 5), 'again');
    assert.deepEqual(seqs(r.accepted), [5], 'only the new message counts');
    assert.deepEqual(r.applied.map((e) => e.seq), [4, 5, 6]);
    // A change of a message not on hand is applied (the watermark moves) and shows nothing.
    const other = receiveEvents(log, [{ seq: 7, kind: 'updated', message: msg(0, { id: 'elsewhere' }) }]);
    assert.equal(other.log.watermark, 7);
    assert.deepEqual(seqs(other.log.messages), [1, 2, 3, 5]);
    // Older pages across gaps join: the server's page is the messages right before the cursor.
    const older = loadOlder({ ...log, messages: log.messages.slice(2), hasOlder: true }, [msg(1), msg(2)], 3);
    assert.deepEqual(seqs(older.messages), [1, 2, 3, 5]);
    assert.equal(older.hasOlder, false);
  });

  test('an event past a gap waits until the ones before it come, then they apply in order', () => {
    const log = loadLatest(emptyLog(2), range(1, 2), 2, PAGE);
    const early = receiveEvents(log, [created(5)]);
    assert.deepEqual(early.accepted, []);
    assert.equal(early.gapAfter, 2);
    assert.deepEqual(early.log.pending.map((e) => e.seq), [5]);
    assert.deepEqual(seqs(early.log.messages), [1, 2]);
    const filled = receiveEvents(early.log, [edited(4, 1, 'one'), created(3)]);
    assert.deepEqual(filled.applied.map((e) => e.seq), [3, 4, 5]);
    assert.deepEqual(seqs(filled.accepted), [3, 5]);
    assert.equal(filled.gapAfter, null);
    assert.deepEqual(seqs(filled.log.messages), [1, 2, 3, 5]);
    assert.equal(content(filled.log.messages, 1), 'one');
    assert.deepEqual(filled.log.pending, []);
  });

  test('a resume replay overlapping live delivery applies each event once', () => {
    let log = loadLatest(emptyLog(10), range(1, 10), 10, PAGE);
    const seen: number[] = [];
    for (const batch of [[11, 12], [11, 12, 13], [13, 14], [12, 15]]) {
      const r = receiveEvents(log, batch.map(created));
      seen.push(...r.applied.map((e) => e.seq));
      log = r.log;
    }
    assert.deepEqual(seen, [11, 12, 13, 14, 15]);
  });

  test('a copy fetched over HTTP never replaces a newer one from the stream', () => {
    let log = loadLatest(emptyLog(3), range(1, 3), 3, PAGE);
    const sentAt = log.watermark; // a reaction request leaves with the watermark at 3
    log = receiveEvents(log, [edited(4, 2, 'from the stream')]).log;
    const stale = mergeFetched(log, [msg(2, { content: 'answer' })], sentAt);
    assert.equal(content(stale.messages, 2), 'from the stream');
    // An answer to a request sent after that change wins over the copy on hand.
    const fresh = mergeFetched(log, [msg(2, { content: 'answer' })], log.watermark);
    assert.equal(content(fresh.messages, 2), 'answer');
    // ...until the stream brings a later change.
    const later = receiveEvents(fresh, [edited(5, 2, 'later')]).log;
    assert.equal(content(later.messages, 2), 'later');
  });

  test('my own post shows at once and is counted once when the stream brings it', () => {
    let log = loadLatest(emptyLog(3), range(1, 3), 3, PAGE);
    const mine = msg(5);
    log = mergeFetched(log, [mine], log.watermark);
    log = receiveEvents(log, [createdEvent(mine)]).log;
    assert.deepEqual(seqs(log.messages), [1, 2, 3, 5]);
    assert.equal(log.watermark, 3, 'seq 4 is still to come');
    const r = receiveEvents(log, [created(4), created(5)]);
    assert.deepEqual(seqs(r.log.messages), [1, 2, 3, 4, 5]);
    assert.deepEqual(seqs(r.accepted), [4, 5]);
    assert.equal(r.log.watermark, 5);
  });

  test('a room never opened collects live messages from the watermark it was given; the first page joins them', () => {
    const log = emptyLog(40);
    assert.equal(log.loaded, false);
    const r = receiveEvents(log, [created(41), created(42)]);
    assert.deepEqual(seqs(r.accepted), [41, 42]);
    assert.equal(r.log.watermark, 42);
    // Opening it later merges the latest page; the watermark stays (43 comes through the stream).
    const opened = loadLatest(r.log, range(1, 43), 42, PAGE);
    assert.deepEqual(seqs(opened.messages), range(1, 43).map((m) => m.seq));
    assert.equal(opened.hasOlder, false);
    assert.equal(opened.watermark, 42);
    const live = receiveEvents(opened, [created(43)]);
    assert.deepEqual(seqs(live.accepted), [43]);
    assert.deepEqual(seqs(live.log.messages), range(1, 43).map((m) => m.seq));
  });

  test('the latest page of a long room leaves older history to load on scroll', () => {
    const opened = loadLatest(emptyLog(100), range(51, 100), 100, PAGE);
    assert.equal(opened.hasOlder, true);
    assert.equal(olderCursor(opened), 51);
    const older = loadOlder(opened, range(1, 50), 51);
    assert.deepEqual(seqs(older.messages), range(1, 100).map((m) => m.seq));
    assert.equal(older.hasOlder, false);
    assert.equal(olderCursor(older), null);
  });

  test('live messages held before the first page stay when they join it, and a hole drops the older part', () => {
    // Live 11..12 arrived while closed (the stream then lagged); 60 more were posted before the room was opened.
    const live = receiveEvents(emptyLog(10), [created(11), created(12)]).log;
    const opened = loadLatest(live, range(23, 72), 12, PAGE);
    assert.deepEqual(seqs(opened.messages), range(23, 72).map((m) => m.seq));
    assert.equal(opened.hasOlder, true);
    // Later events below the page are counted but not shown with a hole.
    const r = receiveEvents(opened, [created(13)]);
    assert.deepEqual(seqs(r.accepted), [13]);
    assert.equal(r.log.messages[0]!.seq, 23);
  });

  test('an empty room loads as complete', () => {
    const opened = loadLatest(emptyLog(0), [], 0, PAGE);
    assert.equal(opened.loaded, true);
    assert.equal(opened.hasOlder, false);
    const first = receiveEvents(opened, [created(1)]);
    assert.deepEqual(seqs(first.log.messages), [1]);
    assert.equal(first.log.hasOlder, false);
  });

  test('an older page for another start is not shown with a hole', () => {
    const opened = loadLatest(emptyLog(100), range(51, 100), 100, PAGE);
    const wrong = loadOlder(opened, range(1, 40), 41);
    assert.deepEqual(seqs(wrong.messages), range(51, 100).map((m) => m.seq));
  });

  test('memory stays bounded; trimmed history can be fetched again', () => {
    let log = loadLatest(emptyLog(0), [], 0, PAGE);
    log = receiveEvents(log, range(1, MAX_MESSAGES_IN_MEMORY + 20).map(createdEvent)).log;
    assert.equal(log.messages.length, MAX_MESSAGES_IN_MEMORY);
    assert.equal(log.messages[0]!.seq, 21);
    assert.equal(log.versions.size, MAX_MESSAGES_IN_MEMORY);
    assert.equal(log.hasOlder, true);
    assert.equal(olderCursor(log), 21);
  });
});
