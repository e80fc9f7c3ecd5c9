/** `/incomingwebhooks/{id}/github`: GitHub webhooks, signed with the webhook's signing secret. */
import { invalidWebhook } from '../../webhook-service.js';
import { type Format, type FormatContext, deliveryIdOf, header, parseJsonObject } from '../types.js';
import { SIGNATURE_HEADER, verifySignature } from './signature.js';
import { translateGitHub } from './translate.js';

/** GitHub caps payloads at 25 MB; a push of many commits with their file lists runs past 64 KiB: 1 MiB. */
export const GITHUB_BODY_LIMIT = 1024 * 1024;

export const githubFormat = (ctx: FormatContext): Format => ({
  name: 'github',
  title: 'GitHub',
  bodyLimit: GITHUB_BODY_LIMIT,
  translate: (req) => {
    const signature = header(req.headers, SIGNATURE_HEADER);
    if (signature === undefined) {
      throw invalidWebhook(
        "The delivery is not signed (no X-Hub-Signature-256): in GitHub's webhook settings, set Secret to this webhook's signing secret (Manage webhooks → Signing secret).",
      );
    }
    // The secret of the URL's own generation: during a regenerate's overlap the previous URL
    // authenticates as the previous generation (webhook-service.ts), and goes with its own secret.
    if (!verifySignature(signature, req.body, [ctx.webhooks.signingSecretOf(req.webhook)])) {
      throw invalidWebhook(
        "X-Hub-Signature-256 does not match the body: GitHub's Secret must be this webhook's current signing secret (Manage webhooks → Signing secret; it changes when the URL is regenerated).",
      );
    }
    const event = (header(req.headers, 'x-github-event') ?? '').trim();
    const outcome = translateGitHub(event, event === 'ping' && req.body.length === 0 ? {} : parseJsonObject(req.body, 'GitHub event', { form: true }));
    // A redelivery (GitHub's automatic retry or "Redeliver" in its settings) keeps X-GitHub-Delivery.
    return outcome.kind === 'post' ? { ...outcome, deliveryId: deliveryIdOf('github', header(req.headers, 'x-github-delivery')) } : outcome;
  },
});
