/**
 * The pieces the formats build messages with: text escaped so it shows as itself and mentions
 * nobody unless allowed, messages fitted to the limit with "…", keys that fit, Slack's mrkdwn, the
 * alert lists, GitHub's signature.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { renderMessage } from '../../render/render.js';
import { checkContentValue, codePointLength } from '../../services/content.js';
import { translateAlertmanager } from './alertmanager/translate.js';
import { signBody, verifySignature } from './github/signature.js';
import { block, code, codeBlock, inline, link, mdMessage, messageKey } from './markdown.js';
import { mrkdwnToMarkdown } from './slack/mrkdwn.js';
import { colorDot, translateSlack } from './slack/translate.js';

const MEMBERS = [{ userId: 'u1', alias: 'mary', email: 'mary@example.com', displayName: 'Mary' }];

/** The text a message shows (tags dropped, entities decoded, line breaks as spaces). */
function shown(content: string) {
  const { html, mentions } = renderMessage(content, MEMBERS);
  const text = html
    .replace(/<br>\n?/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
  return { text, mentions, html };
}

describe('escaped text shows as itself', () => {
  test('Markdown, HTML, entities and mentions in text are shown as typed and mention nobody', () => {
    const s = '*bold* _it_ ~~strike~~ `code` [a](https://x.example) <b>html</b> &amp; &copy; | a | @mary @all \\ back ![img](x) #1';
    const out = shown(`/md ${inline(s)}`);
    assert.equal(out.text, s);
    assert.deepEqual(out.mentions, { all: false, present: false, userIds: [] });
  });

  test('with mentions allowed, @mary and @all mention', () => {
    const out = shown(`/md ${inline('ping @mary and @all', { mentions: true })}`);
    assert.equal(out.mentions.all, true);
    assert.deepEqual(out.mentions.userIds, ['u1']);
  });

  test('URLs stay whole links, even with underscores, parentheses and trailing punctuation', () => {
    const out = shown(`/md ${inline('see https://example.com/a_b_c?x=(1)&y=*2*. and (https://example.com/wiki/Foo_(bar)).')}`);
    // A trailing "*" is taken for emphasis around the URL, not part of it (as a trailing "." or ")" is).
    assert.match(out.html, /href="https:\/\/example\.com\/a_b_c\?x=\(1\)&amp;y=\*2"[^>]*>[^<]*<\/a>\*\. and/);
    assert.match(out.html, /href="https:\/\/example\.com\/wiki\/Foo_\(bar\)"/);
  });

  test('line starts that would be blocks (#, >, -, +, 1., =) stay text', () => {
    const s = '# h\n> q\n- l\n+ p\n1. n\n2) m\n===\n    indented';
    const out = shown(`/md ${block(s)}`);
    assert.doesNotMatch(out.html, /<h1|<blockquote|<ul|<ol|<pre|<h2/);
    assert.equal(out.text, '# h > q - l + p 1. n 2) m === indented');
  });

  test('property: any text of ASCII punctuation, letters and spaces shows as itself and mentions nobody', () => {
    const chars = fc.constantFrom(...'ab xyz*_~`[]()<>#!|&@\\-+=.1'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { minLength: 1, maxLength: 40 }).map((a) => a.join('')), (s) => {
        const md = inline(s);
        fc.pre(md.trim() !== '');
        const out = shown(`/md ${md}`);
        assert.equal(out.text.replace(/\s+/g, ' '), s.trim().replace(/\s+/g, ' '));
        assert.equal(out.mentions.all || out.mentions.present || out.mentions.userIds.length > 0, false);
      }),
      { numRuns: 400 },
    );
  });

  test('code spans and blocks hold backticks, and a link is only made of http(s) URLs', () => {
    assert.equal(code('a`b'), '``a`b``');
    assert.equal(code('`x`'), '`` `x` ``');
    assert.match(codeBlock('```\ninner\n```'), /^````\n```\ninner\n```\n````$/);
    assert.equal(link('x', 'javascript:alert(1)'), 'x');
    assert.equal(link('x', 'https://e.example/a b(c)'), '[x](https://e.example/a%20b%28c%29)');
  });
});

describe('mdMessage fits the 4096-code-point limit with "…"', () => {
  test('a short body is kept whole behind "/md "', () => {
    assert.equal(mdMessage('hello'), '/md hello');
  });

  test('a long body is cut at a line, ends with "…", and stays valid content', () => {
    const body = Array.from({ length: 400 }, (_, i) => `- line ${i} 🎉 with some text`).join('\n');
    const out = mdMessage(body);
    assert.ok(codePointLength(out) <= 4096);
    assert.ok(out.endsWith('\n…'));
    assert.match(out.split('\n').at(-2)!, /^- line \d+ 🎉 with some text$/, 'cut at a line boundary');
    checkContentValue(out);
  });

  test('a cut inside a code block closes the fence; astral characters are never split', () => {
    const out = mdMessage(`text\n\`\`\`\n${'🎉'.repeat(5000)}\n\`\`\``);
    assert.ok(codePointLength(out) <= 4096);
    assert.ok(out.isWellFormed());
    assert.ok(out.endsWith('\n```\n…'));
    assert.match(shown(out).html, /<pre><code>🎉+/);
  });

  test('NUL and unpaired surrogates from a sender are replaced, so the content rules accept the message', () => {
    const out = mdMessage(inline('a\u0000b\ud800c'));
    checkContentValue(out);
    assert.equal(out, '/md a\ufffdb\ufffdc');
  });
});

test('messageKey: readable when it fits 128 characters, else a SHA-256', () => {
  assert.equal(messageKey('alertmanager', '{}:{alertname="X"}'), 'alertmanager/{}:{alertname="X"}');
  const long = messageKey('grafana', 'x'.repeat(200));
  assert.match(long, /^grafana\/sha256:[0-9a-f]{64}$/);
  assert.equal(messageKey('grafana', 'x'.repeat(200)), long, 'the same id, the same key');
  assert.match(messageKey('a', 'line\nbreak'), /^a\/sha256:/);
});

describe('Slack mrkdwn', () => {
  const md = (s: string, linkNames = false) => mrkdwnToMarkdown(s, { linkNames });
  const cases: [string, string][] = [
    ['*bold* _it_ ~strike~', '**bold** _it_ ~~strike~~'],
    ['*_both_*', '**_both_**'],
    ['a*b*c and 2*3*4', 'a\\*b\\*c and 2\\*3\\*4'],
    ['*not closed', '\\*not closed'],
    ['snake_case_name', 'snake_case_name'],
    ['&lt;tag&gt; &amp;amp; a &amp; b', '\\<tag\\> \\&amp; a & b'],
    ['<https://e.example/x|the *label*>', '[the \\*label\\*](https://e.example/x)'],
    ['<https://e.example/x>', '<https://e.example/x>'],
    ['<mailto:bob@example.com|Bob>', 'Bob (bob\\@example.com)'],
    ['<!here|here> <!channel> <!everyone>', '@Present @All @All'],
    ['hey<!channel>', 'hey @All'],
    ['<@U024BE7LH> <@U1|mary>', '\\@U024BE7LH \\@mary'],
    ['<!subteam^SAZ94GDB8|@devs> <#C024BE7LR|general>', '\\@devs \\#general'],
    ['<!date^1392734382^{date_num}|2014-02-18 6:39 AM>', '2014-02-18 6:39 AM'],
    ['@mary', '\\@mary'],
    ['`a *b*` c', '`a *b*` c'],
    ['>>>quoted\nrest', '> quoted\n> rest'],
    ['>one\ntwo', '> one\n\ntwo'],
  ];
  for (const [input, output] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => assert.equal(md(input), output));
  }
  test('link_names lets @mary mention; <@U…> never does', () => {
    assert.equal(md('@mary <@U1>', true), '@mary \\@U1');
    assert.deepEqual(shown(`/md ${md('@mary <@U1>', true)}`).mentions.userIds, ['u1']);
  });
  test('attachment colours become circles', () => {
    assert.deepEqual(['good', 'warning', 'danger', '#36a64f', '#ff0000', '#439FE0', '#888888', '#ffffff', '#800080', 'nope'].map(colorDot), ['🟢', '🟡', '🔴', '🟢', '🔴', '🔵', '⚫', '⚪', '🟣', '']);
  });
  test('more than 100 attachments → too_many_attachments; nothing to show → no_text', () => {
    assert.throws(() => translateSlack({ text: 'x', attachments: Array.from({ length: 101 }, () => ({ text: 'a' })) }), (e: { slackError?: string; code?: string }) => e.slackError === 'too_many_attachments' && e.code === 'InvalidPayload');
    for (const p of [{}, { text: '   ' }, { blocks: [{ type: 'divider' }] }, { attachments: [{ color: 'good' }] }]) {
      assert.throws(() => translateSlack(p), (e: { slackError?: string }) => e.slackError === 'no_text', JSON.stringify(p));
    }
  });
  test('40,000 characters of text (Slack\'s own limit) are cut to 4096 with "…"', () => {
    const out = translateSlack({ text: 'word '.repeat(8000) });
    assert.ok(out.kind === 'post' && codePointLength(out.content) <= 4096 && out.content.endsWith('…'));
  });
});

describe('alert groups', () => {
  test('30 alerts: 25 listed, then "…and 5 more"; a group key longer than a key may be is hashed', () => {
    const alerts = Array.from({ length: 30 }, (_, i) => ({ status: 'firing', labels: { alertname: 'X', instance: `i-${i}` }, annotations: {}, startsAt: '2026-12-04T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', fingerprint: `f${i}` }));
    const out = translateAlertmanager({ version: '4', status: 'firing', groupKey: `{}:{alertname="X", ${'l="v", '.repeat(30)}}`, groupLabels: { alertname: 'X' }, commonLabels: { alertname: 'X' }, alerts, truncatedAlerts: 2 });
    assert.equal(out.kind, 'post');
    if (out.kind !== 'post') return;
    assert.equal(out.content.match(/^- /gm)?.length, 25);
    assert.match(out.content, /…and 7 more alerts \(the sender truncated the list\)\./);
    assert.match(out.key!, /^alertmanager\/sha256:[0-9a-f]{64}$/);
  });
  test('not an Alertmanager payload → 400 InvalidPayload saying so', () => {
    assert.throws(() => translateAlertmanager({ Content: 'hi' }), /no 'alerts' array/);
  });
});

test('GitHub signatures: HMAC-SHA256 of the exact body, hex in either case; anything else fails', () => {
  const body = Buffer.from('{"zen":"Keep it logically awesome."}');
  const sig = signBody('s3cret', body);
  assert.ok(verifySignature(sig, body, ['s3cret']));
  assert.ok(verifySignature(sig.toUpperCase().replace('SHA256=', 'sha256='), body, ['s3cret']));
  assert.ok(verifySignature(sig, body, ['other', 's3cret']), 'any of the secrets');
  assert.ok(!verifySignature(sig, Buffer.from(`${body} `), ['s3cret']), 'the body changed');
  assert.ok(!verifySignature(sig, body, ['other']));
  for (const bad of ['', 'sha1=abc', sig.slice(0, -2), `sha256=${'g'.repeat(64)}`]) assert.ok(!verifySignature(bad, body, ['s3cret']), bad);
});
