/**
 * Server frames as bytes. A message is serialized once per room, not once per socket (issue 5):
 * its frame is built once with `"alert":true` and once with `"alert":false`, and each recipient
 * gets one of the two shared buffers.
 */
import type { ServerFrame } from '../../shared/stream-protocol.js';
import { presentMessage } from '../presenters.js';
import { alertsUser } from '../services/alerts.js';
import type { MessageRecord, RoomEvent } from '../store/types.js';

export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/**
 * One seq of a room, ready to send to any member: a new message (`message.created`) or a change of
 * one (`message.updated`, issue 14), built once per variant of `alert` (and `newAlert`).
 */
export class MessageEntry {
  readonly seq: number;
  readonly event: RoomEvent;
  private readonly presentAtPost: ReadonlySet<string>;
  private readonly addedPresent: ReadonlySet<string>;
  private readonly beforePresent: ReadonlySet<string>;
  private body: string | undefined;
  private readonly built = new Map<number, Buffer>();

  constructor(source: MessageRecord | RoomEvent) {
    this.event = 'kind' in source ? source : { kind: 'created', seq: source.seq, message: source };
    this.seq = this.event.seq;
    this.presentAtPost = new Set(this.event.message.presentAtPost ?? []);
    const added = this.event.kind === 'changed' ? this.event.addedMentions : undefined;
    this.addedPresent = new Set(added?.presentAtPost ?? []);
    this.beforePresent = new Set(added?.before?.presentAtPost ?? []);
  }

  get message(): MessageRecord {
    return this.event.message;
  }

  /** The frame for this recipient: the message with `alert` computed for them (SPEC 4). */
  frameFor(userId: string): Buffer {
    const message = this.event.message;
    const alert = alertsUser(message, userId, this.presentAtPost);
    let newAlert = false;
    const added = this.event.kind === 'changed' ? this.event.addedMentions : undefined;
    if (alert && added) {
      // Only what the change added alerts anew (a webhook update that adds a mention of you), and
      // only someone the version before did not alert already.
      newAlert =
        alertsUser({ sender: message.sender, mentions: added.mentions }, userId, this.addedPresent) &&
        !(added.before !== undefined && alertsUser({ sender: message.sender, mentions: added.before.mentions }, userId, this.beforePresent));
    }
    const variant = (alert ? 1 : 0) + (newAlert ? 2 : 0);
    let frame = this.built.get(variant);
    if (!frame) {
      frame = this.build(alert, newAlert);
      this.built.set(variant, frame);
    }
    return frame;
  }

  private build(alert: boolean, newAlert: boolean): Buffer {
    // presentMessage lists the public fields only, so the presence snapshot never leaves the server.
    this.body ??= JSON.stringify(presentMessage(this.event.message));
    const message = `${this.body.slice(0, -1)},"alert":${alert}}`;
    if (this.event.kind === 'created') return Buffer.from(`{"type":"message.created","message":${message}}`, 'utf8');
    return Buffer.from(`{"type":"message.updated","seq":${this.event.seq},"change":"${this.event.change}","message":${message},"newAlert":${newAlert}}`, 'utf8');
  }
}
