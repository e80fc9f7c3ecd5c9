// Inclusive time (the function and everything it calls) of each named function in a .cpuprofile,
// as a share of the profile's busy (non-idle) time. Usage: node bench/tools/profile-inclusive.mjs <file> name…
import { readFileSync } from 'node:fs';

const [file, ...names] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const totals = new Map(names.map((n) => [n, 0]));
let busy = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  const leaf = byId.get(prof.samples[i]).callFrame.functionName;
  if (leaf === '(idle)' || leaf === '(program)') continue;
  busy += dt;
  const seen = new Set();
  for (let cur = prof.samples[i]; cur !== undefined; cur = parent.get(cur)) {
    const fn = byId.get(cur).callFrame.functionName;
    if (totals.has(fn) && !seen.has(fn)) {
      seen.add(fn);
      totals.set(fn, totals.get(fn) + dt);
    }
  }
}
console.log(`busy ${(busy / 1e6).toFixed(2)} s`);
for (const [n, t] of totals) console.log(((100 * t) / busy).toFixed(1).padStart(5), '%', n);
