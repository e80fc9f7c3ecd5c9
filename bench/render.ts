/** Render cost per message: typical plain and /md, and every render-cost.jsonl vector. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMessage, warmUpRenderer } from '../src/server/render/index.js';
import { fmt, repoRoot, summarize, table } from './lib.js';

const members = Array.from({ length: 50 }, (_, i) => ({ userId: `u${i}`, alias: `user${i}`, email: `user${i}@example.com`, displayName: `User ${i}` }));

function time(content: string, iterations: number): { p50: number; p99: number; max: number } {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    renderMessage(content, members);
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}

export function benchRender(): { rows: (string | number)[][]; worstP99: number; typicalP99: number } {
  const typical: [string, string][] = [
    ['plain: Chime docs sample', 'Message Body emoji test: :) :+1: link test: http://sample.com email test: marymajor@example.com All member callout: @All All Present member callout: @Present'],
    ['plain: deploy line', 'Deploy finished: build 1234 of carillon-api is live in production. @user3 please verify https://ci.example.com/builds/1234'],
    ['/md: report with table', '/md **Deploy report** for @Present\n\n| service | status |\n|---|---|\n| api | **ok** |\n| web | ok |\n\n[build 1234](https://ci.example.com/builds/1234) :tada:'],
    ['/code: stack trace', `/code ${'at Object.<anonymous> (/srv/app/index.js:10:15)\n'.repeat(20)}`],
  ];
  // As the server does right after it starts listening (main.ts).
  warmUpRenderer();
  const rows: (string | number)[][] = [['message', 'p50 ms', 'p99 ms', 'max ms']];
  let typicalP99 = 0;
  for (const [name, content] of typical) {
    const r = time(content, 5000);
    typicalP99 = Math.max(typicalP99, r.p99);
    rows.push([name, fmt(r.p50, 3), fmt(r.p99, 3), fmt(r.max, 3)]);
  }
  let worstP99 = 0;
  let worstName = '';
  const vectors = readFileSync(join(process.env.CARILLON_VECTORS_DIR ?? join(repoRoot, 'test/vectors'), 'render-cost.jsonl'), 'utf8').split('\n').filter(Boolean);
  for (const line of vectors) {
    const v = JSON.parse(line) as { name: string; body: string };
    const content = (JSON.parse(v.body) as { Content: string }).Content;
    for (const [mode, c] of [['plain', content], ['/md', `/md ${content}`]] as const) {
      const r = time(c, 50);
      if (r.p99 > worstP99) {
        worstP99 = r.p99;
        worstName = `${v.name} (${mode})`;
      }
    }
  }
  rows.push([`worst render-cost vector: ${worstName}`, '', fmt(worstP99, 3), '']);
  return { rows, worstP99, typicalP99 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = benchRender();
  console.log(table(r.rows));
}
