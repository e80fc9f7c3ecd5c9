import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { loadVectors, vectorBody } from '../../test-support/shared-dir.js';
import { messageFormat, renderMessage, type RenderMember } from './index.js';
import { makeEnv } from './markdown.js';
import { MentionCollector, indexMembers } from './mentions.js';
import { PLAIN_FEATURE_START, renderPlain, renderPlainMarkup } from './plain.js';

const members: RenderMember[] = [
  { userId: 'u-mary', alias: 'mary', email: 'marymajor@example.com', displayName: 'Mary Major' },
];
const A = (href: string): string => `<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">`;
const ALL = '<span class="mention mention-all">@All</span>';
const noMentions = { all: false, present: false, userIds: [] };

/** Renders, checks the result against the allow-list, and returns the HTML. */
function html(content: string, who: readonly RenderMember[] = members): string {
  const out = renderMessage(content, who).html;
  assertSafeHtml(out);
  return out;
}

describe('messageFormat', () => {
  const cases: [string, string][] = [
    ['hello', 'plain'],
    ['/md **x**', 'markdown'],
    ['/md\n**x**', 'markdown'],
    ['/md\r\n**x**', 'markdown'],
    ['/code x', 'code'],
    ['/code\nx', 'code'],
    // pinned: a prefix needs the space/newline, must be lower case and at the very start
    ['/mdx', 'plain'],
    ['/md\tx', 'plain'],
    ['/MD x', 'plain'],
    [' /md x', 'plain'],
    ['/markdown x', 'plain'],
    // pinned: a prefix with nothing after it is shown as typed
    ['/md', 'plain'],
    ['/md ', 'plain'],
    ['/md \n  ', 'plain'],
    ['/code', 'plain'],
    ['/code \n', 'plain'],
  ];
  for (const [content, format] of cases) {
    it(`${JSON.stringify(content)} is ${format}`, () => assert.equal(messageFormat(content), format));
  }
  it('"/md" alone renders as the literal text "/md"', () => {
    assert.deepEqual(renderMessage('/md', members), { html: '/md', mentions: noMentions });
    assert.equal(html('/code '), '/code ');
  });
});

describe('plain messages', () => {
  it('renders the Chime docs sample with emoji, links, mailto and both callouts', () => {
    const r = renderMessage(
      'Message Body emoji test: :) :+1: link test: http://sample.com email test: marymajor@example.com All member callout: @All All Present member callout: @Present',
      members,
    );
    assertSafeHtml(r.html);
    assert.equal(
      r.html,
      'Message Body emoji test: 😃 👍 link test: ' +
        `${A('http://sample.com')}http://sample.com</a> email test: ` +
        `${A('mailto:marymajor@example.com')}marymajor@example.com</a> All member callout: ${ALL} ` +
        'All Present member callout: <span class="mention mention-present">@Present</span>',
    );
    assert.deepEqual(r.mentions, { all: true, present: true, userIds: [] });
  });

  it('interprets nothing else: *x* my_var # y stays literal', () => {
    assert.equal(html('*x* my_var # y'), '*x* my_var # y');
    assert.equal(html('**bold** _it_ ~~s~~ [t](https://x.example) # h\n- item\n> q'), '**bold** _it_ ~~s~~ [t](' + A('https://x.example') + 'https://x.example</a>) # h<br>- item<br>&gt; q');
  });

  it('shows entities, backslashes and tags exactly as typed', () => {
    assert.equal(html('&amp; &lt;b&gt; \\*x\\* C:\\temp <b>bold</b>'), '&amp;amp; &amp;lt;b&amp;gt; \\*x\\* C:\\temp &lt;b&gt;bold&lt;/b&gt;');
  });

  it('keeps line breaks as <br> (CR LF too)', () => {
    assert.equal(html('a\nb\r\n\r\nc\rd'), 'a<br>b<br><br>c<br>d');
  });

  it('shows code spans as <code> with nothing inside turned into emoji, links or mentions (pinned)', () => {
    const r = renderMessage('use `@All :) :tada: https://example.com a@b.cc` here :)', members);
    assert.equal(r.html, 'use <code>@All :) :tada: https://example.com a@b.cc</code> here 😃');
    assert.deepEqual(r.mentions, noMentions);
  });

  it('shows ``` fenced blocks as <pre><code>, language class only for a plain token (pinned)', () => {
    const r = renderMessage('before\n```sh\n:tada: @All https://example.com <b>\n```\nafter @All', members);
    assert.equal(
      r.html,
      `before<pre><code class="language-sh">:tada: @All https://example.com &lt;b&gt;</code></pre>\nafter ${ALL}`,
    );
    assert.equal(r.mentions.all, true); // only the one outside the fence
    assert.equal(html('```js onmouseover=alert(1)\nx\n```'), '<pre><code class="language-js">x</code></pre>\n');
    assert.equal(html('```"><img src=x>\nx\n```'), '<pre><code>x</code></pre>\n');
  });

  it('runs an unclosed fence to the end of the message', () => {
    assert.equal(html('```\n<img src=x onerror=alert(1)>\n@All'), '<pre><code>&lt;img src=x onerror=alert(1)&gt;\n@All</code></pre>\n');
  });

  it('treats ```x``` on one line as a code span, not a fence', () => {
    assert.equal(html('```x``` and :)'), '<code>x</code> and 😃');
  });
});

describe('/md messages', () => {
  it('renders Markdown', () => {
    assert.equal(html('/md **x**'), '<p><strong>x</strong></p>\n');
    assert.equal(html('/md *x* ~~y~~ `z`'), '<p><em>x</em> <s>y</s> <code>z</code></p>\n');
    assert.equal(html('/md # Title\n- a\n- b'), '<h1>Title</h1>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n');
    assert.equal(html('/md > quoted'), '<blockquote>\n<p>quoted</p>\n</blockquote>\n');
  });

  it('keeps single line breaks (breaks: true, pinned)', () => {
    assert.equal(html('/md a\nb\n\nc'), '<p>a<br>\nb</p>\n<p>c</p>\n');
  });

  it('renders GFM tables with alignment as classes, never style', () => {
    assert.equal(
      html('/md | a | b | c |\n|:-|:-:|--|\n| 1 | **2** | 3 |'),
      '<table>\n<thead>\n<tr>\n<th class="align-left">a</th>\n<th class="align-center">b</th>\n<th>c</th>\n</tr>\n</thead>\n' +
        '<tbody>\n<tr>\n<td class="align-left">1</td>\n<td class="align-center"><strong>2</strong></td>\n<td>3</td>\n</tr>\n</tbody>\n</table>\n',
    );
  });

  it('shows raw HTML as text', () => {
    assert.equal(html('/md <b>raw</b> <script>alert(1)</script>'), '<p>&lt;b&gt;raw&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>\n');
  });

  it('emits only http/https/mailto links, with target and rel', () => {
    assert.equal(html('/md [ok](https://example.com "t")'), `<p><a href="https://example.com" title="t" target="_blank" rel="noopener noreferrer nofollow">ok</a></p>\n`);
    assert.equal(html('/md [m](mailto:a@example.com)'), `<p>${A('mailto:a@example.com')}m</a></p>\n`);
    for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd', '/relative', '#top', 'ftp://example.com/x']) {
      assert.equal(html(`/md [x](${bad})`), `<p>[x](${bad})</p>\n`, bad);
    }
    assert.equal(html('/md [empty]()'), '<p>empty</p>\n'); // pinned: an empty destination shows the text unlinked
  });

  it('shows http(s) images lazily, without referrer, size-capped by class; other sources as alt text (pinned)', () => {
    assert.equal(
      html('/md ![chart](https://img.example/c.png "T")'),
      '<p><img src="https://img.example/c.png" alt="chart" title="T" class="md-img" loading="lazy" referrerpolicy="no-referrer"></p>\n',
    );
    assert.equal(html('/md ![x](data:image/png;base64,iVBORw0KGgo=)'), '<p>![x](data:image/png;base64,iVBORw0KGgo=)</p>\n');
    assert.equal(html('/md ![alt text](mailto:a@b.cc)'), '<p>alt text</p>\n');
  });

  it('never puts emoji, links or mentions inside code', () => {
    const r = renderMessage('/md `:) @All https://x.example` and\n```\n:tada: @All https://x.example\n```', members);
    assert.equal(r.html, '<p><code>:) @All https://x.example</code> and</p>\n<pre><code>:tada: @All https://x.example\n</code></pre>\n');
    assert.deepEqual(r.mentions, noMentions);
    assert.equal(html('/md     indented @All :)'), '<pre><code>indented @All :)\n</code></pre>\n');
  });

  it('renders the markdown fixture of the Chime clients', () => {
    const r = renderMessage(
      '/md **Deploy report** for @Present\n\n| Service | Status | Duration |\n|---|---|---|\n| api | **passed** | 42s |\n| web | failed | 1m 03s |\n\nDetails: [build 1234](https://ci.example.com/builds/1234)',
      members,
    );
    assertSafeHtml(r.html);
    assert.match(r.html, /^<p><strong>Deploy report<\/strong> for <span class="mention mention-present">@Present<\/span><\/p>\n<table>/);
    assert.ok(r.html.includes(`<p>Details: ${A('https://ci.example.com/builds/1234')}build 1234</a></p>`));
    assert.deepEqual(r.mentions, { all: false, present: true, userIds: [] });
  });

  it('shows a message of nothing but reference definitions as its text (pinned)', () => {
    assert.equal(html('/md [r]: https://e.x/0'), '[r]: https://e.x/0');
  });
});

describe('/code messages', () => {
  it('renders the rest as one verbatim, escaped <pre><code> block with nothing interpreted', () => {
    const r = renderMessage('/code <b>x</b> :) @All https://example.com **y**\n  indented &amp;\n', members);
    assert.equal(r.html, '<pre><code>&lt;b&gt;x&lt;/b&gt; :) @All https://example.com **y**\n  indented &amp;amp;\n</code></pre>\n');
    assert.deepEqual(r.mentions, noMentions);
    assert.equal(html('/code\n```\nfence\n```'), '<pre><code>```\nfence\n```</code></pre>\n');
  });
});

describe('links', () => {
  it('links bare http(s) URLs and emails only, excluding trailing punctuation', () => {
    assert.equal(
      html('see http://sample.com. and (https://example.com/a_(b)) and https://example.com/x,'),
      `see ${A('http://sample.com')}http://sample.com</a>. and (${A('https://example.com/a_(b)')}https://example.com/a_(b)</a>) and ${A('https://example.com/x')}https://example.com/x</a>,`,
    );
    assert.equal(html('mail marymajor@example.com now'), `mail ${A('mailto:marymajor@example.com')}marymajor@example.com</a> now`);
    // no scheme-less, ftp or protocol-relative links
    assert.equal(html('example.com www.example.com ftp://example.com //example.com'), 'example.com www.example.com ftp://example.com //example.com');
  });

  it('shows a non-ASCII host in punycode, as in the href', () => {
    assert.equal(html('https://аpple.com/login'), `${A('https://xn--pple-43d.com/login')}https://xn--pple-43d.com/login</a>`);
    assert.equal(html('/md https://аpple.com/login'), `<p>${A('https://xn--pple-43d.com/login')}https://xn--pple-43d.com/login</a></p>\n`);
  });

  it('does not take user-info into a link (the link goes where its text says)', () => {
    assert.equal(html('https://example.com@evil.example/'), `${A('https://example.com')}https://example.com</a>@evil.example/`);
  });

  it('does not turn shortcodes inside URLs into emoji', () => {
    assert.equal(html('see https://example.com/a/:smile:/b'), `see ${A('https://example.com/a/:smile:/b')}https://example.com/a/:smile:/b</a>`);
  });
});

describe('emoji', () => {
  it('turns gemoji shortcodes and emoticons into emoji', () => {
    assert.equal(html('deploy done :+1: :tada: :smile: :) ;) :( :D :P <3 :white_check_mark: :warning: :x: :bell:'), 'deploy done 👍 🎉 😄 😃 😉 😦 😄 😛 ❤️ ✅ ⚠️ ❌ 🔔');
    assert.equal(html('/md **done** :tada: :)'), '<p><strong>done</strong> 🎉 😃</p>\n');
  });

  it('leaves unknown, mis-cased, unclosed and prototype-named shortcodes as text (case-sensitive, pinned)', () => {
    assert.equal(html(':not_an_emoji_xyz: stays'), ':not_an_emoji_xyz: stays');
    assert.equal(html(':SMILE: :Smile:'), ':SMILE: :Smile:');
    assert.equal(html('time is 10:30 and :smile'), 'time is 10:30 and :smile');
    assert.equal(html(':__proto__: :constructor: :toString: :hasOwnProperty:'), ':__proto__: :constructor: :toString: :hasOwnProperty:');
    assert.equal(html(':"onmouseover=alert(1)//:'), ':&quot;onmouseover=alert(1)//:');
  });

  it('replaces adjacent shortcodes without swallowing', () => {
    assert.equal(html(':smile::smile::smile:'), '😄😄😄');
  });

  it('needs a boundary around emoticons', () => {
    assert.equal(html('ratio 1:) a:Pb'), 'ratio 1:) a:Pb');
  });
});

describe('invisible and reordering characters', () => {
  it('shows bidi overrides and isolates as visible markers (pinned)', () => {
    assert.equal(html('invoice_\u202Efdp.exe'), 'invoice_[U+202E]fdp.exe');
    assert.equal(html('if (admin) {\u2067 } \u2066if\u2069'), 'if (admin) {[U+2067] } [U+2066]if[U+2069]');
    assert.equal(html('/md [\u202Egro.elpmaxe](https://evil.example/)'), `<p>${A('https://evil.example/')}[U+202E]gro.elpmaxe</a></p>\n`);
    // the href carries the control percent-encoded, never raw
    assert.equal(html('https://example.com/\u202Egnp.exe'), `${A('https://example.com/%E2%80%AEgnp.exe')}https://example.com/[U+202E]gnp.exe</a>`);
  });

  it('strips tag characters except in emoji tag sequences', () => {
    const england = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
    assert.equal(html(`hello\u{E0069}\u{E0067}\u{E006E} ${england}`), `hello ${england}`);
  });

  it('keeps emoji sequences byte for byte', () => {
    for (const s of ['family: 👨‍👩‍👧‍👦', '👩🏽‍💻 🧑🏿‍🚀', '🏳️‍🌈', '🇺🇸🇯🇵 odd count: 🇺', '1️⃣ #️⃣ *️⃣', 'Déploiement réussi ✅ 日本語 🎉']) {
      assert.equal(html(s), s);
    }
  });
});

describe('bounds and fallbacks', () => {
  it('degrades a table that autocompletes into a huge output to escaped text (pinned)', () => {
    const content = `/md ${'|a'.repeat(200)}|\n${'|-'.repeat(200)}|\n${'x\n'.repeat(1600)}`;
    const out = html(content);
    assert.ok(out.length <= 20 * content.length + 512, `${out.length}`);
    assert.ok(out.startsWith('/md |a|a|a'));
  });

  it('degrades a mention flood with long user ids but still reports the mention', () => {
    const id = '0b3f5a5e-8c1d-4e0a-9b7a-2f6c1d9e4a71';
    const content = '@u '.repeat(1300);
    const r = renderMessage(content, [{ userId: id, alias: 'u', email: 'u@example.com', displayName: 'U' }]);
    assert.ok(r.html.length <= 20 * content.length + 512);
    assert.equal(r.html, content);
    assert.deepEqual(r.mentions, { all: false, present: false, userIds: [id] });
  });

  it('replaces NUL with U+FFFD in every mode', () => {
    assert.equal(html('a\0b'), 'a\uFFFDb');
    assert.equal(html('/code a\0b'), '<pre><code>a\uFFFDb</code></pre>\n');
  });
});

describe('determinism', () => {
  it('renders the same content and members to byte-identical HTML', () => {
    const samples = [
      'Message Body emoji test: :) :+1: link test: http://sample.com @All @mary',
      '/md **x** | a |\n|---|\n| @mary |\n\n[l](https://x.example) ![i](https://x.example/i.png)',
      '/code x',
      '```\ncode\n```\n@Present :tada:',
    ];
    for (const s of samples) {
      const first = renderMessage(s, members);
      const second = renderMessage(s, members.map((m) => ({ ...m })));
      assert.deepEqual(second, first);
      assert.equal(renderMessage(s, members).html, first.html);
    }
  });
});

describe('plain text with no feature skips markdown-it, with the same HTML', () => {
  const env = () => makeEnv(indexMembers(members), new MentionCollector());

  it('every emoticon of the installed markdown-it-emoji has what the shortcut looks for', async () => {
    const { default: shortcuts } = (await import('markdown-it-emoji/lib/data/shortcuts.mjs' as string)) as { default: Record<string, string[]> };
    const all = Object.values(shortcuts).flat();
    assert.ok(all.length > 50);
    assert.deepEqual(all.filter((e) => !PLAIN_FEATURE_START.test(e)), []);
  });

  it('random text without those (every other ASCII printable, ": ", newlines, tabs, letters and symbols of other scripts): textHtml is what markdown-it makes of it', () => {
    const pieces = [
      ...[...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))].filter((c) => !PLAIN_FEATURE_START.test(c)),
      '\n', '\n\n', '\t', '   ', '-', ')', '- )', '--', '&amp;', '&#60;', '\\*x\\*', '*x*', '_y_', '# h', '> q', '1. a', '[a](b)', '![i](j)', '~~s~~',
      ': ', ':\n', ' :', 'a: b', 'https: //x', 'mailto: a', 'tada: ', 'x-', '8)', 'B)', 'https', 'www.example.com', 'example.com', 'mailto', 'é', 'ß', '日本語', 'עברית', '🎉', '👨‍👩‍👧', '\u202e', '\u200b', '\u{e0041}', '\u00a0', 'ﬀ',
    ];
    let seed = 16;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let tried = 0;
    for (let n = 0; n < 6000; n++) {
      let text = '';
      const len = 1 + Math.floor(random() * 24);
      for (let i = 0; i < len; i++) text += pieces[Math.floor(random() * pieces.length)];
      if (PLAIN_FEATURE_START.test(text)) continue;
      tried++;
      assert.equal(renderPlain(text, env()), renderPlainMarkup(text, env()), JSON.stringify(text));
    }
    assert.ok(tried > 3000, `${tried} inputs`);
  });

  it('the repository\'s test vectors without those characters', () => {
    let tried = 0;
    for (const file of ['xss-markdown.jsonl', 'render-cost.jsonl', 'webhook-bodies-unicode.jsonl', 'mentions.jsonl']) {
      for (const v of loadVectors(file)) {
        let content: unknown;
        try {
          content = (JSON.parse(vectorBody(v).toString('utf8')) as { Content?: unknown }).Content;
        } catch {
          continue;
        }
        if (typeof content !== 'string' || PLAIN_FEATURE_START.test(content)) continue;
        tried++;
        assert.equal(renderPlain(content, env()), renderPlainMarkup(content, env()), v.name);
      }
    }
    assert.ok(tried > 10, `${tried} vectors`);
  });

  it('a message with a feature still gets it (the shortcut is not taken)', () => {
    assert.match(html('deploy done :tada:'), /🎉/);
    assert.match(html('ping @mary'), /mention/);
    assert.match(html('run `make`'), /<code>/);
    assert.match(html('x-) and 8-)'), /😆/);
    // …and text without one is escaped text with its line breaks.
    assert.equal(html('deploy: "finished" & live > 5\nnext'), 'deploy: &quot;finished&quot; &amp; live &gt; 5<br>next');
  });
});
