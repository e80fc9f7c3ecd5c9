// Summarises a .cpuprofile (node --cpu-prof): self time by function and by file/package.
// Usage: node bench/tools/profile-summary.mjs <file.cpuprofile> [top=40]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id).callFrame.functionName)).reduce((a, [, t]) => a + t, 0);
const fns = new Map();
const files = new Map();
const where = (url) => {
  if (!url) return '(native)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return url;
  const d = url.match(/dist\/(.*)$/);
  return d ? d[1] : url;
};
for (const [id, t] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const k = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
  fns.set(k, (fns.get(k) ?? 0) + t);
  const f = where(url);
  files.set(f, (files.get(f) ?? 0) + t);
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + ' %';
console.log(`total ${(total / 1e6).toFixed(2)} s, idle/program ${pct(idle)}`);
console.log('\n-- by file/package --');
for (const [k, t] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
console.log('\n-- by function --');
for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
