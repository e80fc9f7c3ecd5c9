/** `/incomingwebhooks/{id}/sns`: an Amazon SNS HTTP/HTTPS subscription (signed messages). */
import { AppError } from '../../../errors.js';
import { type Format, type FormatContext, deliveryIdOf, header, invalidPayload, parseJsonObject } from '../types.js';
import { notification, subscribed, unsubscribed } from './translate.js';
import { type SnsMessage, type SnsOptions, type SnsType, SnsVerifier } from './verify.js';

export type { SnsOptions };

/** An SNS message is at most 256 KiB, and JSON-escaping it inside the envelope can double that: 1 MiB. */
export const SNS_BODY_LIMIT = 1024 * 1024;

const TYPES: readonly SnsType[] = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];

/** The body → an SNS message with the fields its type needs, or 400 saying what is wrong. */
export function parseSnsMessage(body: Record<string, unknown>, headerType: string | undefined): SnsMessage {
  const type = body.Type;
  if (typeof type !== 'string' || typeof body.Signature !== 'string') {
    throw invalidPayload(
      'This is not an Amazon SNS message (no Type and Signature). Subscribe this URL to the topic with the HTTPS (or HTTP) protocol and raw message delivery off (docs/formats.md).',
    );
  }
  if (!TYPES.includes(type as SnsType)) throw invalidPayload(`SNS message Type "${type.slice(0, 40)}" is not one this URL takes (${TYPES.join(', ')}).`);
  if (headerType !== undefined && headerType !== type) {
    throw invalidPayload(`The x-amz-sns-message-type header (${headerType.slice(0, 40)}) and the body's Type (${type}) differ; send the SNS message unchanged.`);
  }
  const needed = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'];
  if (type !== 'Notification') needed.push('Token', 'SubscribeURL');
  for (const f of needed) {
    if (typeof body[f] !== 'string') throw invalidPayload(`The SNS ${type} has no "${f}" string; send the SNS message unchanged.`);
  }
  if (body.Subject !== undefined && body.Subject !== null && typeof body.Subject !== 'string') throw invalidPayload('The SNS message\'s Subject must be a string.');
  const m = body as unknown as SnsMessage;
  return { ...m, ...(typeof body.Subject === 'string' ? { Subject: body.Subject } : { Subject: undefined }) } as SnsMessage;
}

export const snsFormat = (ctx: FormatContext): Format => {
  const verifier = new SnsVerifier(ctx.clock, ctx.sns);
  return {
    name: 'sns',
    title: 'Amazon SNS',
    bodyLimit: SNS_BODY_LIMIT,
    translate: async (req) => {
      const m = parseSnsMessage(parseJsonObject(req.body, 'Amazon SNS message'), header(req.headers, 'x-amz-sns-message-type'));
      await verifier.verify(m);
      switch (m.Type) {
        case 'SubscriptionConfirmation':
          await verifier.confirm(m.SubscribeURL!);
          return subscribed(m);
        case 'UnsubscribeConfirmation':
          return unsubscribed(m);
        case 'Notification': {
          // SNS retries a delivery it got no 2xx for with the same MessageId.
          const outcome = notification(m);
          return outcome.kind === 'post' ? { ...outcome, deliveryId: deliveryIdOf('sns', m.MessageId) } : outcome;
        }
        default:
          throw new AppError('InvalidPayload', 'Unknown SNS message type.');
      }
    },
  };
};
