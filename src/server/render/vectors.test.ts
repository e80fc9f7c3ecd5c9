import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { loadVectors } from '../../test-support/shared-dir.js';
import { renderMessage, type RenderMember } from './index.js';

/**
 * Every hostile or pathological vector, rendered as sent, with a `/md ` prefix, and (when it has a
 * prefix) as plain text with the prefix stripped: the HTML must pass the allow-list, contain no
 * script, no script/data URL, no event handler, and stay within 20× the input plus a constant.
 */
const FILES = ['xss-markdown.jsonl', 'mentions.jsonl', 'webhook-bodies-unicode.jsonl', 'render-cost.jsonl'];

const members: RenderMember[] = [
  { userId: 'u-alias', alias: 'alias', email: 'alias@example.com', displayName: 'Alias' },
  { userId: 'u-evil', alias: 'evil', email: 'evil@example.com', displayName: '<svg onload=alert(1)>' },
  { userId: 'u-allison', alias: 'allison', email: 'All@example.com', displayName: '"><img src=x onerror=alert(1)>' },
  // one-letter alias and a long id: the worst case for output size
  { userId: '0b3f5a5e-8c1d-4e0a-9b7a-2f6c1d9e4a71', alias: 'u', email: 'u@example.com', displayName: 'U' },
  ...Array.from({ length: 300 }, (_, i) => ({ userId: `id-${i}`, alias: `user${i}`, email: `user${i}@example.com`, displayName: `User ${i}` })),
];

function contentOf(body: string): unknown {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  return Object.hasOwn(parsed, 'Content') ? parsed.Content : parsed.content;
}

function variants(content: string): string[] {
  const stripped = /^\/(?:md|code)(?: |\r?\n)/.exec(content);
  return [content, `/md ${content}`, ...(stripped ? [content.slice(stripped[0].length)] : [])];
}

function assertHarmless(content: string): void {
  const { html } = renderMessage(content, members);
  assertSafeHtml(html);
  assert.ok(!/<script/i.test(html), 'no <script');
  // A second look without an HTML parser: every "<" left in the output starts a tag (text is escaped),
  // and every attribute is written name="value".
  for (const tag of html.match(/<[^>]*>/g) ?? []) {
    for (const [, name = '', value = ''] of tag.matchAll(/\s([^\s="]+)="([^"]*)"/g)) {
      assert.ok(!/^on/i.test(name), `event handler in ${tag}`);
      assert.notEqual(name.toLowerCase(), 'style', `style in ${tag}`);
      if (name === 'href' || name === 'src') assert.match(value, /^(?:https?:\/\/|mailto:)/i, `URL in ${tag}`);
    }
  }
  assert.ok(html.length <= 20 * content.length + 512, `output ${html.length} chars for ${content.length} of input`);
  assert.equal(renderMessage(content, members).html, html, 'deterministic');
}

for (const file of FILES) {
  describe(file, () => {
    for (const v of loadVectors(file)) {
      const content = contentOf(v.body);
      if (typeof content !== 'string') continue;
      it(v.name, () => {
        for (const c of variants(content)) assertHarmless(c);
      });
    }
  });
}

describe('specific XSS vectors', () => {
  const byName = new Map(loadVectors('xss-markdown.jsonl').map((v) => [v.name, contentOf(v.body) as string]));
  const md = (name: string): string => renderMessage(`/md ${byName.get(name)}`, members).html;

  it('drops every javascript:/data:/vbscript:/file: and unknown-scheme link in Markdown', () => {
    for (const [name] of byName) {
      if (!/^md_link_|^md_image_js|^md_image_data|^table_cell|^list_item/.test(name)) continue;
      const html = md(name);
      for (const href of html.matchAll(/ (?:href|src)="([^"]*)"/g)) assert.match(href[1] ?? '', /^(?:https?:\/\/|mailto:)/, `${name}: ${href[1]}`);
    }
  });

  it('pins the inline PNG as text, never an image', () => {
    assert.ok(!md('md_image_data_png').includes('<img'));
  });

  it('loads remote images without referrer, lazily (pinned policy)', () => {
    assert.equal(
      md('remote_image_tracking'),
      '<p><img src="https://evil.example/pixel.png?u=victim" alt="x" class="md-img" loading="lazy" referrerpolicy="no-referrer"></p>\n',
    );
  });

  it('keeps balanced parentheses in a link and rejects the javascript: one', () => {
    assert.equal(
      md('md_link_unbalanced_parens'),
      '<p>[x](javascript:alert(1)))) <a href="https://example.com/a(b)c" target="_blank" rel="noopener noreferrer nofollow">y</a></p>\n',
    );
  });

  it('percent-encodes quotes in hrefs', () => {
    assert.ok(md('md_link_attr_breakout_quote').includes('href="https://example.com/%22onmouseover=%22alert(1)"'));
    assert.ok(md('md_link_mailto_header_injection').includes('href="mailto:a@example.com?subject=hi%22onmouseover=%22alert(1)"'));
  });

  it('restricts the fence language class to a plain token', () => {
    assert.equal(md('fence_info_lang_class_injection'), '<pre><code class="language-js">x\n</code></pre>\n');
    assert.equal(md('fence_info_string_breakout'), '<pre><code>x\n</code></pre>\n');
  });

  it('shows template syntax literally', () => {
    assert.equal(
      renderMessage(byName.get('template_injection_mustache')!, members).html,
      "{{constructor.constructor('alert(1)')()}} ${alert(1)} &lt;%= 7*7 %&gt;",
    );
  });

  it('never decodes entities twice', () => {
    assert.equal(md('html_entity_tag_not_double_decoded'), '<p>&lt;img src=x onerror=alert(1)&gt;</p>\n');
    assert.equal(md('html_double_encoded_entity'), '<p>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;</p>\n');
  });
});
