import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { findUnsafeHtml } from './allowlist.js';

const A = 'target="_blank" rel="noopener noreferrer nofollow"';

// What the renderer emits: both checks accept it.
const good = [
  '',
  'plain &amp; text<br>more',
  `<p><a href="https://example.com/?a=1&amp;b=2" title="t &quot;q&quot;" ${A}>x</a> <a href="mailto:a@example.com" ${A}>m</a></p>\n`,
  '<p><img src="https://img.example/c.png" alt="a" class="md-img" loading="lazy" referrerpolicy="no-referrer"></p>\n',
  '<span class="mention" data-user-id="u-1">@mary</span> <span class="mention mention-all">@All</span>',
  '<pre><code class="language-ts">x &lt;y&gt;</code></pre>\n<ol start="3">\n<li>x</li>\n</ol>\n',
  '<table>\n<thead>\n<tr>\n<th class="align-left">a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>b</td>\n</tr>\n</tbody>\n</table>\n',
  '<h1>x</h1><h6>y</h6><blockquote><p><strong>a</strong><em>b</em><s>c</s></p></blockquote><hr><ul><li>z</li></ul>',
];

// Hostile or off-list markup: both checks reject it.
const bad: [string, string][] = [
  ['script', '<script>alert(1)</script>'],
  ['unknown tag', '<iframe src="https://x.example"></iframe>'],
  ['svg', '<svg><a href="https://x.example">x</a></svg>'],
  ['event handler', '<img src="https://x.example/i.png" alt="" loading="lazy" referrerpolicy="no-referrer" onerror="alert(1)">'],
  ['style', '<p style="display:none">x</p>'],
  ['class not allowed', '<p class="x">x</p>'],
  ['id', '<span class="mention" id="__proto__">x</span>'],
  ['javascript href', `<a href="javascript:alert(1)" ${A}>x</a>`],
  ['entity-encoded javascript href', `<a href="&#106;avascript:alert(1)" ${A}>x</a>`],
  ['whitespace before scheme', `<a href=" javascript:alert(1)" ${A}>x</a>`],
  ['relative href', `<a href="/settings" ${A}>x</a>`],
  ['data src', '<img src="data:image/png;base64,AAAA" alt="" loading="lazy" referrerpolicy="no-referrer">'],
  ['mailto src', '<img src="mailto:a@b.cc" alt="" loading="lazy" referrerpolicy="no-referrer">'],
  ['missing target', '<a href="https://x.example" rel="noopener noreferrer nofollow">x</a>'],
  ['missing rel', '<a href="https://x.example" target="_blank">x</a>'],
  ['weak rel', '<a href="https://x.example" target="_blank" rel="nofollow">x</a>'],
  ['image without no-referrer', '<img src="https://x.example/i.png" alt="" loading="lazy">'],
  ['comment', '<!-- x -->'],
  ['fence class injection', '<code class="language-js onmouseover">x</code>'],
];

describe('assertSafeHtml (htmlparser2)', () => {
  for (const html of good) it(`accepts ${JSON.stringify(html.slice(0, 60))}`, () => assertSafeHtml(html));
  for (const [why, html] of bad) it(`rejects ${why}`, () => assert.throws(() => assertSafeHtml(html), /unsafe HTML/));
});

describe('findUnsafeHtml (run-time check of the renderer output)', () => {
  for (const html of good) it(`accepts ${JSON.stringify(html.slice(0, 60))}`, () => assert.equal(findUnsafeHtml(html), undefined));
  for (const [why, html] of bad) it(`rejects ${why}`, () => assert.notEqual(findUnsafeHtml(html), undefined));

  it('rejects markup the renderer never writes', () => {
    for (const html of [
      "<a href='https://x.example' target='_blank' rel='noopener noreferrer nofollow'>x</a>",
      '<p >x</p>',
      '<P>x</P>',
      '<img src=https://x.example/i.png>',
      'a > b',
      '<br/>',
      '</br>',
      '</p class="x">',
      `<a href="https://x.example/&#x3A;" ${A}>x</a>`,
    ]) {
      assert.notEqual(findUnsafeHtml(html), undefined, html);
    }
  });
});
