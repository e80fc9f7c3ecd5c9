import { Parser } from 'htmlparser2';
import { ALLOWED_HTML, checkElement } from '../server/render/allowlist.js';

/**
 * Asserts that message HTML is safe to insert into the page: parsed by a real HTML parser
 * (htmlparser2, entities decoded as a browser would), every element and attribute must be in the
 * renderer's allow-list (src/server/render/allowlist.ts), and on top of that a few rules are checked
 * independently of that list: no event handlers, no style, only http/https/mailto hrefs, only
 * http/https image sources, and every link opens in a new tab without opener or referrer.
 * Throws an Error naming the first problem.
 */
export function assertSafeHtml(html: string): void {
  const problems: string[] = [];
  let attrs: [string, string][] = [];
  const parser = new Parser(
    {
      onattribute(name, value) {
        attrs.push([name, value]);
      },
      onopentag(name) {
        const problem = checkElement(name, attrs) ?? independentChecks(name, attrs);
        if (problem) problems.push(problem);
        attrs = [];
      },
      onclosetag(name, isImplied) {
        if (!isImplied && !ALLOWED_HTML.has(name)) problems.push(`closing tag </${name}> is not allowed`);
      },
      oncomment() {
        problems.push('HTML comment');
      },
      oncdatastart() {
        problems.push('CDATA section');
      },
      onprocessinginstruction(name) {
        problems.push(`markup declaration <${name}>`);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (problems.length > 0) {
    throw new Error(`unsafe HTML: ${problems[0]}\n  in: ${html.length > 500 ? `${html.slice(0, 500)}…` : html}`);
  }
}

// A browser ignores leading/trailing C0 controls and spaces and drops tabs/newlines inside a URL
// before reading its scheme; the scheme check does the same.
function scheme(url: string): string {
  const cleaned = url.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
  return /^([a-z][a-z0-9+.-]*):/i.exec(cleaned)?.[1]?.toLowerCase() ?? '(relative)';
}

function independentChecks(tag: string, attrs: readonly [string, string][]): string | undefined {
  for (const [name, value] of attrs) {
    if (name.startsWith('on')) return `event handler ${name} on <${tag}>`;
    if (name === 'style') return `style attribute on <${tag}>`;
    if (['href', 'xlink:href', 'action', 'formaction'].includes(name) && !['http', 'https', 'mailto'].includes(scheme(value))) {
      return `${name} with scheme ${scheme(value)} on <${tag}>`;
    }
    if (['src', 'srcset', 'poster', 'data'].includes(name) && !['http', 'https'].includes(scheme(value))) {
      return `${name} with scheme ${scheme(value)} on <${tag}>`;
    }
  }
  if (tag === 'a') {
    const get = (n: string): string => attrs.find(([name]) => name === n)?.[1] ?? '';
    if (get('target') !== '_blank') return '<a> without target="_blank"';
    const rel = new Set(get('rel').split(/\s+/));
    if (!rel.has('noopener') || !rel.has('noreferrer')) return `<a> with rel="${get('rel')}" (needs noopener noreferrer)`;
  }
  return undefined;
}
