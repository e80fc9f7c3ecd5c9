/**
 * Server frames as bytes. A message is serialized once per room, not once per socket (issue 5):
 * its frame is built once with `"alert":true` and once with `"alert":false`, and each recipient
 * gets one of the two shared buffers.
 */
import type { ServerFrame } from '../../shared/stream-protocol.js';
import { presentMessage } from '../http/presenters.js';
import { alertsUser } from '../services/alerts.js';
import type { MessageRecord } from '../store/types.js';

export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/** One stored message, ready to send to any member of its room. */
export class MessageEntry {
  readonly seq: number;
  private readonly presentAtPost: ReadonlySet<string>;
  private body: string | undefined;
  private alerting: Buffer | undefined;
  private quiet: Buffer | undefined;

  constructor(readonly message: MessageRecord) {
    this.seq = message.seq;
    this.presentAtPost = new Set(message.presentAtPost ?? []);
  }

  /** The frame for this recipient: the message with `alert` computed for them (SPEC 4). */
  frameFor(userId: string): Buffer {
    if (alertsUser(this.message, userId, this.presentAtPost)) {
      this.alerting ??= this.build(true);
      return this.alerting;
    }
    this.quiet ??= this.build(false);
    return this.quiet;
  }

  private build(alert: boolean): Buffer {
    // presentMessage lists the public fields only, so the presence snapshot never leaves the server.
    this.body ??= JSON.stringify(presentMessage(this.message));
    return Buffer.from(`{"type":"message.created","message":${this.body.slice(0, -1)},"alert":${alert}}}`, 'utf8');
  }
}
