/**
 * Amazon SNS messages → `/md` messages (issue 15, docs/formats.md#amazon-sns).
 *
 * - A Notification whose Message is a CloudWatch alarm state change (JSON with AlarmName and
 *   NewStateValue, as CloudWatch publishes to SNS) → the alarm's state, name, reason, region and a
 *   link to it in the CloudWatch console, keyed by the alarm's ARN so the OK notification updates
 *   the ALARM message.
 * - Any other Notification → its Subject in bold and its Message (pretty-printed when it is JSON).
 * - SubscriptionConfirmation (after the server confirmed it) and UnsubscribeConfirmation → a short
 *   notice naming the topic.
 *
 * The Subject, Message and alarm description come from the team's own AWS account: a `@name` in
 * them mentions that member (and `@All`/`@Present` obey the 50-member rule).
 */
import { block, code, codeBlock, inline, link, mdMessage, messageKey, str } from '../markdown.js';
import { type Outcome, arr, obj } from '../types.js';
import type { SnsMessage } from './verify.js';

const TEXT = { mentions: true };

/** `arn:aws:sns:us-east-1:123456789012:alerts` → its parts (or undefined). */
export function parseArn(arn: string): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  const m = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d*):(.+)$/.exec(arn);
  return m ? { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! } : undefined;
}

export function topicName(topicArn: string): string {
  return parseArn(topicArn)?.resource ?? topicArn;
}

/** The CloudWatch console page of an alarm, in its partition's console. */
export function consoleUrl(partition: string, region: string, alarmName: string): string | undefined {
  if (!/^[a-z]{2}(?:-[a-z]+)+-\d$/.test(region)) return undefined;
  const base =
    partition === 'aws-cn'
      ? 'https://console.amazonaws.cn'
      : partition === 'aws-us-gov'
        ? 'https://console.amazonaws-us-gov.com'
        : `https://${region}.console.aws.amazon.com`;
  return `${base}/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}

const STATE_ICON: Record<string, string> = { ALARM: ':rotating_light:', OK: ':white_check_mark:', INSUFFICIENT_DATA: ':grey_question:' };

const OPERATORS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: '>=',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
  LessThanLowerOrGreaterThanUpperThreshold: 'outside the band',
  LessThanLowerThreshold: '< lower band',
  GreaterThanUpperThreshold: '> upper band',
};

function time(iso: string): string {
  // CloudWatch writes "2026-12-04T10:05:12.345+0000", which Date.parse reads once the offset has its colon.
  const t = Date.parse(iso.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(t) ? '' : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** What a CloudWatch alarm watches, in a line: metric, dimensions, comparison, period. */
function trigger(t: Record<string, unknown> | undefined): string {
  if (!t) return '';
  const pieces: string[] = [];
  const metric = str(t.MetricName);
  if (metric) pieces.push(`${code(metric)}${str(t.Namespace) ? ` (${inline(str(t.Namespace))})` : ''}`);
  else if (Array.isArray(t.Metrics)) pieces.push('metric math');
  const dims = arr(t.Dimensions)
    .map(obj)
    .filter((d): d is Record<string, unknown> => d !== undefined)
    .map((d) => inline(`${str(d.name)}=${str(d.value)}`))
    .join(', ');
  if (dims) pieces.push(dims);
  const op = OPERATORS[str(t.ComparisonOperator)] ?? inline(str(t.ComparisonOperator));
  const threshold = str(t.Threshold);
  const stat = str(t.Statistic) || str(t.ExtendedStatistic);
  if (op && threshold) pieces.push(`${stat ? `${inline(stat.toLowerCase())} ` : ''}${op} ${inline(threshold)}`);
  const periods = Number(t.EvaluationPeriods);
  const period = Number(t.Period);
  if (periods > 0 && period > 0) pieces.push(`${str(t.DatapointsToAlarm) || periods} of ${periods} × ${period} s`);
  return pieces.join(' · ');
}

export function isCloudWatchAlarm(m: unknown): m is Record<string, unknown> {
  const o = obj(m);
  return o !== undefined && typeof o.AlarmName === 'string' && typeof o.NewStateValue === 'string';
}

/** A CloudWatch alarm state change → the message, keyed by the alarm. */
export function cloudWatchAlarm(a: Record<string, unknown>, topicArn: string): Outcome {
  const name = str(a.AlarmName);
  const state = str(a.NewStateValue);
  const arn = parseArn(str(a.AlarmArn));
  const region = arn?.region || parseArn(topicArn)?.region || '';
  const where = str(a.Region) || region;
  const lines = [`${STATE_ICON[state] ?? ':bell:'} **${inline(`${state}: ${name}`)}**${where ? ` in ${inline(where)}` : ''}`];
  const description = str(a.AlarmDescription);
  if (description) lines.push(block(description, TEXT));
  const reason = str(a.NewStateReason);
  if (reason) lines.push(inline(reason));
  const facts = [trigger(obj(a.Trigger))];
  const rule = str(a.AlarmRule);
  if (rule) facts.push(`rule ${code(rule)}`);
  const old = str(a.OldStateValue);
  const at = time(str(a.StateChangeTime));
  if (old || at) facts.push(`${old ? `${inline(old)} → ${inline(state)}` : inline(state)}${at ? ` at ${at}` : ''}`);
  const factLine = facts.filter((f) => f !== '').join(' · ');
  if (factLine) lines.push(factLine);
  const url = consoleUrl(arn?.partition ?? 'aws', region, name);
  if (url) lines.push(link('View in CloudWatch', url));
  const identity = str(a.AlarmArn) || `${str(a.AWSAccountId)}/${region}/${name}`;
  return { kind: 'post', content: mdMessage(lines.join('\n')), key: messageKey('sns', identity) };
}

/** Any other Notification: Subject and Message. */
export function notification(m: SnsMessage): Outcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(m.Message);
  } catch {
    parsed = undefined;
  }
  if (isCloudWatchAlarm(parsed)) return cloudWatchAlarm(parsed, m.TopicArn);
  const subject = str(m.Subject).trim();
  const head = subject ? `**${inline(subject, TEXT)}**` : `:bell: Amazon SNS notification from topic **${inline(topicName(m.TopicArn))}**`;
  const body = parsed !== null && typeof parsed === 'object' ? codeBlock(JSON.stringify(parsed, null, 2), 'json') : block(m.Message, TEXT);
  return { kind: 'post', content: mdMessage([head, body].filter((s) => s !== '').join('\n\n')) };
}

export function subscribed(m: SnsMessage): Outcome {
  return {
    kind: 'post',
    content: mdMessage(`:white_check_mark: Subscribed to Amazon SNS topic **${inline(topicName(m.TopicArn))}** (${code(m.TopicArn)}): its notifications will appear here.`),
    // SNS may deliver the confirmation again: the notice is then the same message.
    key: messageKey('sns', `subscription/${m.TopicArn}`),
  };
}

export function unsubscribed(m: SnsMessage): Outcome {
  return {
    kind: 'post',
    content: mdMessage(`:no_bell: Unsubscribed from Amazon SNS topic **${inline(topicName(m.TopicArn))}** (${code(m.TopicArn)}): its notifications no longer come here.`),
  };
}
