/**
 * Every tag and attribute the renderer may emit, with a check for each attribute's (entity-decoded)
 * value. The renderer runs its own output through `findUnsafeHtml` before returning it, and the test
 * suites run it through an independent HTML parser (src/test-support/html-allowlist.ts): both read
 * this table, so it is the single statement of what message HTML can contain.
 */
export type AttrCheck = (value: string) => boolean;

const anyValue: AttrCheck = () => true;
const oneOf =
  (...values: string[]): AttrCheck =>
  (v) =>
    values.includes(v);
const matching =
  (re: RegExp): AttrCheck =>
  (v) =>
    re.test(v);

export const LINK_REL = 'noopener noreferrer nofollow';

/** Only absolute http(s) and mailto hrefs, without whitespace or control characters anywhere. */
export const isSafeHref = matching(/^(?:https?:\/\/|mailto:)[^\x00-\x20\x7f]+$/i);
/** Images load only over http(s). */
export const isSafeSrc = matching(/^https?:\/\/[^\x00-\x20\x7f]+$/i);

const noAttrs = new Map<string, AttrCheck>();
const align = new Map([['class', oneOf('align-left', 'align-center', 'align-right')]]);

export const ALLOWED_HTML: ReadonlyMap<string, ReadonlyMap<string, AttrCheck>> = new Map<
  string,
  ReadonlyMap<string, AttrCheck>
>([
  [
    'a',
    new Map([
      ['href', isSafeHref],
      ['title', anyValue],
      ['target', oneOf('_blank')],
      ['rel', oneOf(LINK_REL)],
    ]),
  ],
  [
    'img',
    new Map([
      ['src', isSafeSrc],
      ['alt', anyValue],
      ['title', anyValue],
      ['class', oneOf('md-img')],
      ['loading', oneOf('lazy')],
      ['referrerpolicy', oneOf('no-referrer')],
    ]),
  ],
  [
    'span',
    new Map([
      ['class', oneOf('mention', 'mention mention-all', 'mention mention-present')],
      ['data-user-id', anyValue],
    ]),
  ],
  ['code', new Map([['class', matching(/^language-[A-Za-z0-9_+-]{1,32}$/)]])],
  ['ol', new Map([['start', matching(/^\d{1,9}$/)]])],
  ['th', align],
  ['td', align],
  ...['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 's', 'pre', 'blockquote', 'ul', 'li']
    .concat(['table', 'thead', 'tbody', 'tr'])
    .map((tag): [string, ReadonlyMap<string, AttrCheck>] => [tag, noAttrs]),
]);

/** Attributes an element must carry (links always open in a new tab without opener or referrer). */
export const REQUIRED_ATTRS: ReadonlyMap<string, readonly string[]> = new Map([
  ['a', ['href', 'target', 'rel']],
  ['img', ['src', 'alt', 'loading', 'referrerpolicy']],
]);

export const VOID_TAGS: ReadonlySet<string> = new Set(['br', 'hr', 'img']);

/** Why one element breaks the allow-list, or undefined. Shared by the runtime check and the test parser. */
export function checkElement(tag: string, attrs: readonly (readonly [string, string])[]): string | undefined {
  const allowed = ALLOWED_HTML.get(tag);
  if (!allowed) return `tag <${tag}> is not allowed`;
  const seen = new Set<string>();
  for (const [name, value] of attrs) {
    if (seen.has(name)) return `<${tag}> repeats attribute ${name}`;
    seen.add(name);
    const check = allowed.get(name);
    if (!check) return `attribute ${name} is not allowed on <${tag}>`;
    if (!check(value)) return `attribute ${name}=${JSON.stringify(value)} is not allowed on <${tag}>`;
  }
  const missing = (REQUIRED_ATTRS.get(tag) ?? []).find((name) => !seen.has(name));
  return missing === undefined ? undefined : `<${tag}> lacks required attribute ${missing}`;
}

// The exact shape of the renderer's own markup: lower-case names, ` name="value"` attributes whose values
// are escaped (no raw `"`, `<`, `>`). Anything else means something went wrong upstream.
const TAG = /<(\/?)([a-z][a-z0-9]*)((?: [a-z][a-z-]*="[^"<>]*")*)>/y;
const ATTR = / ([a-z][a-z-]*)="([^"<>]*)"/g;
const ENTITIES = new Map([
  ['&amp;', '&'],
  ['&lt;', '<'],
  ['&gt;', '>'],
  ['&quot;', '"'],
]);

function decodeAttr(value: string): string | undefined {
  // The renderer only ever writes these four entities; any other `&` means the value was not escaped by us.
  if (/&(?!amp;|lt;|gt;|quot;)/.test(value)) return undefined;
  return value.replace(/&(?:amp|lt|gt|quot);/g, (e) => ENTITIES.get(e) ?? e);
}

/**
 * Defence in depth over the renderer's output: a strict scan (no HTML parser at run time; htmlparser2
 * is a dev dependency) that accepts only the markup shape above and only allow-listed elements.
 * Returns the first problem, or undefined when the HTML is acceptable.
 */
export function findUnsafeHtml(html: string): string | undefined {
  let pos = 0;
  while (pos < html.length) {
    const lt = html.indexOf('<', pos);
    const text = html.slice(pos, lt === -1 ? html.length : lt);
    if (text.includes('>')) return 'unescaped ">" in text';
    if (lt === -1) return undefined;
    TAG.lastIndex = lt;
    const m = TAG.exec(html);
    if (!m) return `malformed markup at offset ${lt}`;
    const [, closing, tag = '', attrText = ''] = m;
    if (closing) {
      if (attrText !== '' || VOID_TAGS.has(tag) || !ALLOWED_HTML.has(tag)) return `bad closing tag </${tag}>`;
    } else {
      const attrs: [string, string][] = [];
      for (const [, name = '', raw = ''] of attrText.matchAll(ATTR)) {
        const value = decodeAttr(raw);
        if (value === undefined) return `unexpected entity in ${name} on <${tag}>`;
        attrs.push([name, value]);
      }
      const problem = checkElement(tag, attrs);
      if (problem) return problem;
    }
    pos = TAG.lastIndex;
  }
  return undefined;
}
