/**
 * Server frames as the bytes a socket sends. A message is serialized once per room, not once per
 * socket (issue 5): its frame is built once with `"alert":true` and once with `"alert":false`, and
 * each recipient gets one of the two shared buffers.
 *
 * Each buffer is a whole WebSocket frame (issue 16, item 6): the 2-, 4- or 10-byte header of an
 * unmasked text frame followed by the JSON, so a socket writes the buffer as is, instead of ws
 * building a header and a two-part write for every recipient. connection.ts writes these to the
 * socket ws was given (the server never compresses, see gateway.ts); `payloadOf` gives the JSON back.
 */
import type { ServerFrame } from '../../shared/stream-protocol.js';
import { presentMessage } from '../presenters.js';
import { alertsUser } from '../services/alerts.js';
import type { MessageRecord, RoomEvent } from '../store/types.js';

export function encodeFrame(frame: ServerFrame): Buffer {
  return wireFrame(Buffer.from(JSON.stringify(frame), 'utf8'));
}

/**
 * The WebSocket frame that carries `json` as one unfragmented, unmasked text message (RFC 6455
 * 5.2): FIN + opcode 1, then the length in 7 bits, or 126 and 16 bits, or 127 and 64 bits.
 */
export function wireFrame(json: Buffer): Buffer {
  const n = json.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x81;
  if (head === 2) {
    out[1] = n;
  } else if (head === 4) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  json.copy(out, head);
  return out;
}

/** The JSON text a frame from encodeFrame or MessageEntry carries. */
export function payloadOf(wire: Buffer): string {
  const len = wire[1]! & 0x7f;
  return wire.subarray(len === 127 ? 10 : len === 126 ? 4 : 2).toString('utf8');
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
    if (this.event.kind === 'created') return wireFrame(Buffer.from(`{"type":"message.created","message":${message}}`, 'utf8'));
    return wireFrame(Buffer.from(`{"type":"message.updated","seq":${this.event.seq},"change":"${this.event.change}","message":${message},"newAlert":${newAlert}}`, 'utf8'));
  }
}
