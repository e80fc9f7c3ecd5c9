/// <reference types="node" />
/** Badges from the server's read state, kept live between its updates (issue 13). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, Room } from '../../shared/api-types';
import { shouldNotify } from '../lib/notifications';
import { createdEvent, emptyLog, receiveEvents } from '../lib/room-log';
import { type ReadTracked, applyServerRead, countAccepted, firstUnreadMention, firstUnreadSeq, newestShown } from './read-tracking';

const ME = 'me';

function msg(seq: number, from = 'other', mentions: string[] = []): Message {
  return {
    id: `m${seq}`,
    roomId: 'r',
    seq,
    sender: { type: 'user', id: from, name: from },
    content: `m${seq}`,
    html: `<p>m${seq}</p>`,
    mentions: { all: false, present: false, userIds: mentions },
    createdAt: seq,
    editedAt: null,
    deletedAt: null,
    reactions: [],
  };
}

const room = (over: Partial<Room> = {}): Room => ({
  id: 'r',
  name: 'R',
  createdAt: 0,
  role: 'member',
  lastSeq: 2,
  lastReadSeq: 0,
  unreadCount: 2,
  mentionCount: 1,
  notify: 'mentions',
  muted: false,
  ...over,
});

function entry(over: Partial<Room> = {}, messages: Message[] = []): ReadTracked {
  const r = room(over);
  const log = receiveEvents(emptyLog(0), messages.map(createdEvent)).log;
  return { room: r, log, unread: r.unreadCount, alerts: r.mentionCount, countedThrough: r.lastSeq };
}

describe('read tracking', () => {
  test('live messages past the counted seq bump the badges; those already counted do not', () => {
    const e = entry({}, [msg(1), msg(2, 'other', [ME])]);
    const { entry: after, fresh } = countAccepted(e, [msg(2), msg(3), msg(4, 'other', [ME])], ME, false);
    assert.deepEqual([after.unread, after.alerts, after.countedThrough], [4, 2, 4]);
    assert.deepEqual(fresh.map((m) => m.seq), [3, 4]);
  });

  test('my own post marks everything up to it read; on screen nothing is counted', () => {
    const { entry: after } = countAccepted(entry(), [msg(3), msg(4, ME), msg(5)], ME, false);
    assert.deepEqual([after.unread, after.alerts, after.room.lastReadSeq], [1, 0, 4]);
    const { entry: seen, fresh } = countAccepted(entry(), [msg(3, 'other', [ME])], ME, true);
    assert.deepEqual([seen.unread, seen.alerts, fresh.length], [2, 1, 1]);
  });

  test("a server update replaces the counts and re-adds what this client counted past the server's lastSeq", () => {
    // The client holds 1..4 and counted through 4; the frame counted through 3 after a read at 2.
    const e = { ...entry({}, [msg(1), msg(2), msg(3), msg(4, 'other', [ME])]), unread: 4, alerts: 1, countedThrough: 4 };
    const after = applyServerRead(e, { roomId: 'r', lastReadSeq: 2, unreadCount: 1, mentionCount: 0, lastSeq: 3 }, ME, false);
    assert.deepEqual([after.unread, after.alerts, after.countedThrough, after.room.lastReadSeq], [2, 1, 4, 2]);
    // On screen: nothing unread.
    assert.deepEqual([applyServerRead(e, { roomId: 'r', lastReadSeq: 2, unreadCount: 1, mentionCount: 0, lastSeq: 3 }, ME, true).unread], [0]);
  });

  test('counts taken at an older read position than ours are ignored (reading never moves backwards)', () => {
    const e = { ...entry({ lastReadSeq: 4, lastSeq: 4 }), unread: 0, alerts: 0 };
    const after = applyServerRead(e, { roomId: 'r', lastReadSeq: 2, unreadCount: 2, mentionCount: 1, lastSeq: 4 }, ME, false);
    assert.deepEqual([after.unread, after.alerts, after.room.lastReadSeq], [0, 0, 4]);
  });

  test('the New messages line and the first unread mention skip my own messages', () => {
    const messages = [msg(1), msg(2, ME), msg(3, ME, [ME]), msg(4), msg(5, 'other', [ME])];
    assert.equal(firstUnreadSeq(messages, 1, ME), 4);
    assert.equal(firstUnreadSeq(messages, null, ME), null);
    assert.equal(firstUnreadSeq(messages, 5, ME), null);
    assert.equal(firstUnreadMention(messages, 1, ME)?.seq, 5);
    assert.equal(newestShown(receiveEvents(emptyLog(0), messages.map(createdEvent)).log), 5);
  });

  test('notifications follow the setting: all, mentions (alerts only), none; muted silences everything', () => {
    assert.deepEqual([shouldNotify(room({ notify: 'all' }), false), shouldNotify(room({ notify: 'all' }), true)], [true, true]);
    assert.deepEqual([shouldNotify(room({ notify: 'mentions' }), false), shouldNotify(room({ notify: 'mentions' }), true)], [false, true]);
    assert.deepEqual([shouldNotify(room({ notify: 'none' }), true)], [false]);
    assert.deepEqual([shouldNotify(room({ notify: 'all', muted: true }), true)], [false]);
  });
});
