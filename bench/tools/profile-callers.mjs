// Who calls a function in a .cpuprofile: self time of <name> by its call stack (nearest `depth` callers).
// Usage: node bench/tools/profile-callers.mjs <file.cpuprofile> <functionName> [depth=6]
import { readFileSync } from 'node:fs';

const [file, name, depthArg] = process.argv.slice(2);
const depth = Number(depthArg ?? 6);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const total = prof.timeDeltas.reduce((a, b) => a + b, 0);
const stacks = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  let id = prof.samples[i];
  // inclusive: any ancestor named `name`
  let hit = null;
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur).callFrame.functionName === name) { hit = cur; break; }
  if (hit === null) continue;
  const chain = [];
  for (let cur = parent.get(hit), k = 0; cur !== undefined && k < depth; cur = parent.get(cur), k++) {
    const f = byId.get(cur).callFrame;
    chain.push(`${f.functionName || '(anon)'}@${(f.url.split('/').pop() || '')}:${f.lineNumber + 1}`);
  }
  const key = chain.join(' < ');
  stacks.set(key, (stacks.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
for (const [k, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(((100 * t) / total).toFixed(1).padStart(5), '%', k);
