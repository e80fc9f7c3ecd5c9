/**
 * "This payload makes this message": every payload in test/fixtures/formats (written from each
 * sender's documentation) → the Content and Key its `expect` holds, or its note, or its error. The
 * messages are then rendered as the room shows them: within the limit, valid content, and
 * mentioning exactly whom they should.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type FormatFixture, fixtureBody, loadFormatFixtures } from '../../../test-support/formats.js';
import { renderMessage } from '../../render/render.js';
import { checkContentValue, codePointLength } from '../../services/content.js';
import { isAppError } from '../../errors.js';
import { httpStatusOf } from '../../http/error-handler.js';
import { translateAlertmanager } from './alertmanager/translate.js';
import { translateGitHub } from './github/translate.js';
import { translateGrafana } from './grafana/translate.js';
import { translateSlack } from './slack/translate.js';
import { parseSnsMessage } from './sns/index.js';
import { notification, subscribed, unsubscribed } from './sns/translate.js';
import { FORMAT_NAMES, type Outcome, parseJsonObject } from './types.js';

/** The translation alone (SNS without its signature check, which sns.test.ts and the HTTP tests cover). */
function translate(f: FormatFixture): Outcome {
  const p = parseJsonObject(fixtureBody(f), f.format, { form: true });
  switch (f.format) {
    case 'slack':
      return translateSlack(p);
    case 'alertmanager':
      return translateAlertmanager(p);
    case 'grafana':
      return translateGrafana(p);
    case 'github':
      return translateGitHub(f.headers?.['X-GitHub-Event'] ?? '', p);
    case 'sns': {
      const m = parseSnsMessage(p, f.headers?.['x-amz-sns-message-type']);
      return m.Type === 'Notification' ? notification(m) : m.Type === 'SubscriptionConfirmation' ? subscribed(m) : unsubscribed(m);
    }
  }
}

const MEMBERS = ['mary', 'oncall', 'dba', 'octocat', 'all-hands'].map((alias, i) => ({ userId: `u${i}`, alias, email: `${alias}@example.com`, displayName: alias }));

/** Whom each message mentions (rendered against members mary, oncall, dba, octocat): [@All, @Present, aliases]. */
const MENTIONS: Record<string, [boolean, boolean, string[]]> = {
  'slack/text-mrkdwn': [false, true, []],
  'slack/channel-broadcast': [true, false, []],
  'slack/link-names': [false, false, ['mary']],
  'slack/blocks': [false, false, []],
  'sns/cloudwatch-alarm': [false, false, ['oncall']],
  'alertmanager/single-alert': [false, false, ['dba']],
  // Written by people outside the room: "@all" in an issue title and the pusher's login mention nobody.
  'github/issues-opened': [false, false, []],
  'github/push': [false, false, []],
  'github/pull_request-opened': [false, false, []],
};

const COUNTS: Record<string, number> = { slack: 10, sns: 6, alertmanager: 4, grafana: 3, github: 11 };

for (const format of FORMAT_NAMES) {
  describe(`${format} payloads → messages`, () => {
    const fixtures = loadFormatFixtures(format);

    test(`the ${format} fixtures are all there (${COUNTS[format]})`, () => {
      assert.equal(fixtures.length, COUNTS[format]);
      for (const f of fixtures) assert.ok(f.description && f.source && f.expect, `${f.name}: description, source and expect`);
    });

    for (const f of fixtures) {
      const id = `${format}/${f.name}`;
      test(`${id}: ${f.description}`, () => {
        let out: Outcome;
        try {
          out = translate(f);
        } catch (e) {
          assert.ok(isAppError(e), String(e));
          assert.ok(f.expect.status, `${id} was refused (${e.code}: ${e.message}) but expects a message`);
          assert.equal(httpStatusOf(e.code), f.expect.status);
          assert.equal(e.code, f.expect.Code);
          if (f.expect.slack) assert.equal((e as { slackError?: string }).slackError ?? 'invalid_payload', f.expect.slack);
          assert.ok(e.message.length > 20, 'a Message that says what to fix');
          return;
        }
        assert.equal(f.expect.status, undefined, `${id} expects a refusal`);
        if (out.kind === 'ignore') {
          assert.equal(out.note, f.expect.Note);
          return;
        }
        assert.equal(out.content, f.expect.Content);
        assert.equal(out.key, f.expect.Key);
        // A message the room accepts and shows.
        assert.ok(out.content.startsWith('/md '));
        assert.ok(codePointLength(out.content) <= 4096);
        checkContentValue(out.content);
        const { html, mentions } = renderMessage(out.content, MEMBERS);
        assert.ok(html.length > 20);
        assert.doesNotMatch(html, /<script|onerror=|javascript:/i);
        const expected = MENTIONS[id];
        if (expected) {
          assert.equal(mentions.all, expected[0], `${id} @All`);
          assert.equal(mentions.present, expected[1], `${id} @Present`);
          assert.deepEqual(
            mentions.userIds.map((u) => MEMBERS.find((m) => m.userId === u)!.alias).sort(),
            expected[2],
            `${id} mentions`,
          );
        } else {
          assert.equal(mentions.all || mentions.present, false, `${id} must not broadcast`);
        }
      });
    }
  });
}

describe('the same alert keeps its key from firing to resolved', () => {
  const key = (format: typeof FORMAT_NAMES[number], name: string) => loadFormatFixtures(format).find((f) => f.name === name)!.expect.Key;
  test('Alertmanager: firing, partly resolved and resolved share the group key', () => {
    assert.ok(key('alertmanager', 'firing'));
    assert.equal(key('alertmanager', 'firing-partly-resolved'), key('alertmanager', 'firing'));
    assert.equal(key('alertmanager', 'resolved'), key('alertmanager', 'firing'));
    assert.notEqual(key('alertmanager', 'single-alert'), key('alertmanager', 'firing'));
  });
  test('Grafana: firing and resolved share the group key', () => {
    assert.ok(key('grafana', 'firing'));
    assert.equal(key('grafana', 'resolved'), key('grafana', 'firing'));
  });
  test('CloudWatch via SNS: ALARM and OK share the alarm ARN', () => {
    assert.equal(key('sns', 'cloudwatch-alarm'), 'sns/arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-high-cpu');
    assert.equal(key('sns', 'cloudwatch-ok'), key('sns', 'cloudwatch-alarm'));
    assert.equal(key('sns', 'plain-notification'), undefined);
  });
});
