/** `/incomingwebhooks/{id}/slack`: Slack incoming-webhook payloads, answered Slack's way (routes.ts). */
import { type Format, parseJsonObject } from '../types.js';
import { translateSlack } from './translate.js';

/** Block Kit payloads run larger than Chime posts (50 blocks of up to 3000 characters each). */
export const SLACK_BODY_LIMIT = 256 * 1024;

export const slackFormat = (): Format => ({
  name: 'slack',
  title: 'Slack',
  bodyLimit: SLACK_BODY_LIMIT,
  // JSON, or the legacy form body payload=<JSON> that Slack also accepts.
  translate: (req) => translateSlack(parseJsonObject(req.body, 'Slack message', { form: true })),
});
