/**
 * The documentation stays self-contained: every relative link in README.md and docs/*.md points at
 * a file of this repository (and, with a #fragment, at a heading that exists in it), and nothing
 * points outside the repository — the docs ship with it and must make sense on their own.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from './test-support/shared-dir.js';

interface Link {
  file: string;
  line: number;
  target: string;
}

/** The Markdown files the repository ships as documentation. */
function docFiles(): string[] {
  const docsDir = join(repoRoot, 'docs');
  const docs = existsSync(docsDir) ? readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => join(docsDir, f)) : [];
  return [join(repoRoot, 'README.md'), ...docs.sort()];
}

/** The text with fenced code blocks (and, unless `keepInline`, inline code) blanked out, line breaks kept: code holds no links or headings. */
function withoutCode(text: string, keepInline = false): string {
  const lines = text.split('\n');
  let fence: string | null = null;
  return lines
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence !== null) {
        if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
        return '';
      }
      if (marker) {
        fence = marker;
        return '';
      }
      return keepInline ? line : line.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length));
    })
    .join('\n');
}

/** Inline links `[text](target)`, images `![alt](target)`, reference definitions `[x]: target`, and HTML href/src. */
function linksOf(file: string): Link[] {
  const text = withoutCode(readFileSync(file, 'utf8'));
  const links: Link[] = [];
  text.split('\n').forEach((line, i) => {
    const add = (target: string) => links.push({ file, line: i + 1, target: target.trim().replace(/^<|>$/g, '') });
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) add(m[1]!);
    const def = /^\s{0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
    if (def) add(def[1]!);
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) add(m[1]!);
  });
  return links;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(readFileSync(file, 'utf8'), true).split('\n')) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const slug = h[1]!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

describe('documentation links', () => {
  const files = docFiles();

  test('the documentation exists: README.md, docs/webhooks.md, docs/stream.md and docs/operations.md', () => {
    for (const name of ['README.md', 'docs/webhooks.md', 'docs/stream.md', 'docs/operations.md']) {
      assert.ok(existsSync(join(repoRoot, name)), `${name} is missing`);
    }
  });

  test('README.md links to each document in docs/ and names the OpenAPI endpoint', () => {
    const targets = linksOf(join(repoRoot, 'README.md')).map((l) => l.target.split('#')[0]);
    for (const doc of ['docs/webhooks.md', 'docs/stream.md', 'docs/operations.md']) assert.ok(targets.includes(doc), `README.md links to ${doc}`);
    assert.match(readFileSync(join(repoRoot, 'README.md'), 'utf8'), /GET \/api\/v1\/openapi\.json/);
  });

  test('every relative link points at a file inside the repository, and every #fragment at a heading', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const link of linksOf(file)) {
        if (isExternal(link.target)) continue;
        checked++;
        const where = `${relative(repoRoot, link.file)}:${link.line}: (${link.target})`;
        const [pathPart = '', fragment] = link.target.split('#', 2) as [string, string | undefined];
        const path = decodeURIComponent(pathPart.split('?')[0]!);
        const target = path === '' ? link.file : resolve(dirname(link.file), path);
        const inside = relative(repoRoot, target);
        if (inside === '..' || inside.startsWith(`..${sep}`) || resolve(target) === resolve(repoRoot, '..')) {
          problems.push(`${where} points outside the repository; link only to files in it`);
          continue;
        }
        if (/^(node_modules|dist)(\/|$)/.test(inside.split(sep).join('/'))) {
          problems.push(`${where} points into ${inside.split(sep)[0]}/, which is not part of the repository's sources`);
          continue;
        }
        if (!existsSync(target)) {
          problems.push(`${where} points at ${inside}, which does not exist`);
          continue;
        }
        if (fragment !== undefined && fragment !== '' && statSync(target).isFile() && target.endsWith('.md')) {
          const anchors = anchorsOf(target);
          if (!anchors.has(fragment)) problems.push(`${where} names #${fragment}, which is not a heading of ${inside} (headings: ${[...anchors].join(', ')})`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(checked >= 10, `only ${checked} relative links were found: is the link parser broken?`);
  });

  test('no document refers to files outside the repository (../shared and the like)', () => {
    const problems: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\.\.\/shared\b/.test(line)) problems.push(`${relative(repoRoot, file)}:${i + 1}: mentions ../shared, which does not ship with the repository`);
        });
    }
    assert.deepEqual(problems, []);
  });
});
