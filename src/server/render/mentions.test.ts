import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { loadVectors } from '../../test-support/shared-dir.js';
import { renderMessage, type Mentions, type RenderMember } from './index.js';

const member = (userId: string, alias: string, email: string, displayName = alias): RenderMember => ({ userId, alias, email, displayName });
const members: RenderMember[] = [
  member('u-mary', 'mary', 'marymajor@example.com', 'Mary Major'),
  member('u-alias', 'alias', 'alias@example.com'),
  member('u-allison', 'allison', 'allison@example.com'),
  member('u-allmail', 'allmail', 'All@example.com'),
  member('u-evil', 'evil', 'evil@example.com', '<svg onload=alert(1)>'),
  member('u-jdoe', 'j.doe', 'j.doe+ci@example.com'),
  ...Array.from({ length: 300 }, (_, i) => member(`u${i}`, `user${i}`, `user${i}@example.com`)),
];
const span = (id: string, typed: string): string => `<span class="mention" data-user-id="${id}">${typed}</span>`;
const ALL = '<span class="mention mention-all">@All</span>';

function render(content: string, who: readonly RenderMember[] = members): { html: string; mentions: Mentions } {
  const r = renderMessage(content, who);
  assertSafeHtml(r.html);
  return r;
}
const mentioned = (content: string, who?: readonly RenderMember[]): Mentions => render(content, who).mentions;
const users = (...userIds: string[]): Mentions => ({ all: false, present: false, userIds });
const none = users();

describe('mentions', () => {
  it('matches an alias and renders it highlighted as typed', () => {
    assert.deepEqual(render('@mary please check'), { html: `${span('u-mary', '@mary')} please check`, mentions: users('u-mary') });
    assert.deepEqual(render('/md @mary please'), { html: `<p>${span('u-mary', '@mary')} please</p>\n`, mentions: users('u-mary') });
  });

  it('matches a full email', () => {
    assert.deepEqual(render('cc @marymajor@example.com.'), {
      html: `cc ${span('u-mary', '@marymajor@example.com')}.`,
      mentions: users('u-mary'),
    });
    assert.deepEqual(mentioned('@j.doe+ci@example.com and @j.doe'), users('u-jdoe'));
  });

  it('is case-insensitive for aliases, emails, @All and @Present', () => {
    assert.equal(render('@MARY @MaryMajor@Example.COM').html, `${span('u-mary', '@MARY')} ${span('u-mary', '@MaryMajor@Example.COM')}`);
    assert.equal(render('@ALIAS@EXAMPLE.COM check').html, `${span('u-alias', '@ALIAS@EXAMPLE.COM')} check`);
    assert.deepEqual(mentioned('@all'), { all: true, present: false, userIds: [] });
    assert.deepEqual(mentioned('@ALL @pReSeNt'), { all: true, present: true, userIds: [] });
    assert.equal(render('@all').html, '<span class="mention mention-all">@all</span>');
  });

  it('matches only at word boundaries', () => {
    const inside = ['foo@mary', 'x.@mary', 'a_@mary', 'a-@mary', 'a+@mary', '/@mary', '\\@mary', '=@mary', '&@mary', '%@mary', '#@mary', '$@mary'];
    const glued = ['@maryann', '@mary_x', '@marys', '@maryé', '@mary\u0301', '@mary@', '@mary@host', '[@mary]', 'é@mary', '\u0410@mary'];
    for (const text of [...inside, ...glued]) assert.deepEqual(mentioned(text), none, text);
    const bounded = ['@mary', '(@mary)', '"@mary"', "'@mary'", '@mary.', '@mary,', '@mary:', '@mary!', '@mary?', 'hi,@mary', 'cc:@mary', '*@mary*'];
    const unicode = ["@mary's", '@mary-', 'line\n@mary', '\u00A0@mary', '«@mary»', '¿@mary?', '「@mary」', '確認@maryさん', '🎉@mary🎉'];
    for (const text of [...bounded, ...unicode]) assert.deepEqual(mentioned(text), users('u-mary'), text);
    assert.equal(render('ping @mary.').html, `ping ${span('u-mary', '@mary')}.`);
  });

  it('leaves unmatched mentions as plain text, identical for non-members and unknown names', () => {
    assert.deepEqual(render('@outsider please check'), { html: '@outsider please check', mentions: none });
    assert.deepEqual(render('@nobody_xyz please check'), { html: '@nobody_xyz please check', mentions: none });
    assert.deepEqual(render('@marymajor@other.example'), { html: '@marymajor@other.example', mentions: none });
  });

  it('counts each user once, in first-mention order', () => {
    const r = render('@alias @mary @MARY @marymajor@example.com @alias @All @all');
    assert.deepEqual(r.mentions, { all: true, present: false, userIds: ['u-alias', 'u-mary'] });
    assert.equal((r.html.match(/class="mention"/g) ?? []).length, 5);
  });

  it('does not match homoglyphs, fullwidth or decorated letters', () => {
    const kelvin = [member('u-kate', 'kate', 'kate@example.com'), member('u-kelvin', '\u212Aate', '\u212Aate@example.org')];
    for (const text of ['@\u0410ll please read', '\uFF20All please read', '@\u{1D400}\u{1D425}\u{1D425}', '@\uFF21ll', '@m\u0430ry', '@Al\u200Bl', '\uFE6BAll']) {
      assert.deepEqual(mentioned(text), none, text);
      assert.ok(!render(text).html.includes('<span'), text);
    }
    // ASCII-only case folding: "kate" never reaches the member whose alias starts with the Kelvin sign
    assert.deepEqual(mentioned('@kate @KATE@example.org', kelvin), users('u-kate'));
  });

  it('ignores names that exist on Object.prototype', () => {
    for (const text of ['@__proto__', '@constructor', '@toString', '@hasOwnProperty@example.com', '@__proto__@example.com']) {
      assert.deepEqual(render(text), { html: text, mentions: none });
    }
  });

  it('treats @All@example.com as an email mention, never a broadcast (pinned)', () => {
    assert.deepEqual(render('@All@example.com'), { html: span('u-allmail', '@All@example.com'), mentions: users('u-allmail') });
    assert.deepEqual(mentioned('@All@example.com', members.slice(0, 2)), none);
  });

  it('never mentions inside code, in any mode', () => {
    for (const text of ['use `@All` to ping everyone', '```\n@All\n```', '/md use `@All`', '/md ```\n@All\n```', '/md     @All', '/code @All @mary']) {
      assert.deepEqual(mentioned(text), none, text);
    }
  });

  it('never mentions inside URLs or emails', () => {
    assert.deepEqual(mentioned('https://example.com/@All/profile'), none);
    assert.deepEqual(mentioned('/md https://example.com/@mary'), none);
    assert.deepEqual(mentioned('https://example.com/x?a=(@mary)'), none);
    assert.deepEqual(mentioned('write to all@example.com or mary@example.com'), none);
  });

  it('does not mention from markdown link text (pinned), nor from its plain-mode spelling', () => {
    assert.deepEqual(render('/md [@All](https://example.com)'), {
      html: '<p><a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">@All</a></p>\n',
      mentions: none,
    });
    assert.deepEqual(mentioned('[@All](https://example.com)'), none);
    assert.deepEqual(mentioned('/md ![@All](https://example.com/i.png)'), none);
  });

  it('mentions from quotes, headings, lists, tables and emphasis (pinned)', () => {
    assert.deepEqual(render('> @All quoted'), { html: `&gt; ${ALL} quoted`, mentions: { all: true, present: false, userIds: [] } });
    assert.equal(render('/md > @All quoted').html, `<blockquote>\n<p>${ALL} quoted</p>\n</blockquote>\n`);
    assert.deepEqual(mentioned('/md # @All\n- @Present'), { all: true, present: true, userIds: [] });
    assert.deepEqual(mentioned('/md | a |\n|---|\n| @mary |'), users('u-mary'));
    assert.deepEqual(mentioned('/md **@mary** _@alias_'), users('u-mary', 'u-alias'));
  });

  it('does not decode entities or escapes into a mention (pinned)', () => {
    assert.deepEqual(render('&#64;All'), { html: '&amp;#64;All', mentions: none });
    assert.deepEqual(render('/md &#64;All \\@All'), { html: '<p>@All @All</p>\n', mentions: none });
  });

  it('escapes user ids and never renders display names', () => {
    assert.equal(render('@evil').html, span('u-evil', '@evil'));
    const odd = [member('"><script>alert(1)</script>', 'odd', 'odd@example.com')];
    assert.equal(render('@odd', odd).html, span('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;', '@odd'));
  });

  it('keeps the text around a mention escaped', () => {
    assert.equal(render('@All<img src=x onerror=alert(1)>').html, `${ALL}&lt;img src=x onerror=alert(1)&gt;`);
    assert.equal(render('@Present"onmouseover=alert(1)').html, '<span class="mention mention-present">@Present</span>&quot;onmouseover=alert(1)');
  });
});

describe('mentions.jsonl (what concerns rendering)', () => {
  // name → expected mentions as a plain message; the room-size rules (50 members) belong to the message service.
  const all = { all: true, present: false, userIds: [] };
  const present = { all: false, present: true, userIds: [] };
  const expected = new Map<string, Mentions>([
    ['at_all_room_50', all],
    ['at_all_room_51', all],
    ['at_present_room_51_few_present', present],
    ['at_present_room_50', present],
    ['at_all_lowercase', all],
    ['at_all_in_code_span', none],
    ['at_all_in_fenced_code', none],
    ['at_all_in_blockquote', all],
    ['at_all_in_link_text', none],
    ['at_all_prefix_of_word', users('u-allison')],
    ['at_all_repeated_800', all],
    ['at_all_as_email_local_part', users('u-allmail')],
    ['alias_mention_member', users('u-alias')],
    ['alias_mention_nonmember', none],
    ['alias_mention_nonexistent', none],
    ['email_mention_case', users('u-alias')],
    ['mention_many_distinct', users(...Array.from({ length: 300 }, (_, i) => `u${i}`))],
    ['mention_at_end_of_4096', all],
    ['mention_race_51st_member_joins', all],
    ['present_when_redis_down', present],
    ['mention_in_heading_and_list', { all: true, present: true, userIds: [] }],
    ['mention_inside_url', none],
    ['mention_html_entity', none],
  ]);
  const vectors = loadVectors('mentions.jsonl');

  it('has an expectation for every vector', () => {
    assert.deepEqual(vectors.map((v) => v.name).sort(), [...expected.keys()].sort());
  });
  for (const v of vectors) {
    it(v.name, () => {
      const content = (JSON.parse(v.body) as { Content: string }).Content;
      assert.deepEqual(mentioned(content), expected.get(v.name));
      // Markdown agrees, except that "[@All](url)" is a real link there and "# @All" a heading: same answers.
      assert.deepEqual(mentioned(`/md ${content}`), expected.get(v.name));
    });
  }

  it('renders @All once per occurrence, 800 times, without amplifying the output', () => {
    const content = (JSON.parse(vectors.find((v) => v.name === 'at_all_repeated_800')!.body) as { Content: string }).Content;
    const html = render(content).html;
    assert.equal(html.split(ALL).length - 1, 800);
    assert.ok(html.length <= 20 * content.length);
  });
});
