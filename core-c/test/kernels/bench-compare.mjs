// Runs the --bench mode of two builds of test_kernels (e.g. ggml without and with a kernel patch)
// in alternation, so that load on the machine hits both alike, and prints per shape the median
// over all rounds of each build's per-round medians, and their ratio.
//   node core-c/test/kernels/bench-compare.mjs OLD.js NEW.js [rounds=3] [runs=5] [--case q4_0]
import { spawnSync } from 'node:child_process';

const [oldJs, newJs, ...rest] = process.argv.slice(2);
if (!oldJs || !newJs) {
  console.error('usage: node bench-compare.mjs OLD.js NEW.js [rounds] [runs] [--case NAME]');
  process.exit(2);
}
const ci = rest.indexOf('--case');
const filter = ci >= 0 ? ['--case', rest[ci + 1]] : [];
const nums = rest.filter((a, i) => /^\d+$/.test(a) && (ci < 0 || i !== ci + 1)).map(Number);
const rounds = nums[0] ?? 3;
const runs = nums[1] ?? 5;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function once(js) {
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', js, '--bench', '--runs', String(runs), ...filter], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${js} failed (${r.status}): ${r.stderr}`);
  const out = new Map();
  for (const m of r.stdout.matchAll(/^bench (\S+)\s+k=(\d+)\s+m=(\d+)\s+n=(\d+)\s+median\s+([\d.]+) ms.*cpu\s+([-\d.]+) ms.*nrows=(\d)(.*from memory)?/gm)) {
    out.set(`${m[1]} k=${m[2]} m=${m[3]} n=${m[4]}${m[8] ? ' mem' : ''}`, { ms: Number(m[5]), cpu: Number(m[6]), nrows: Number(m[7]) });
  }
  return out;
}

const res = { old: new Map(), new: new Map() };
for (let r = 0; r < rounds; r++) {
  for (const [which, js] of r % 2 ? [['new', newJs], ['old', oldJs]] : [['old', oldJs], ['new', newJs]]) {
    for (const [key, v] of once(js)) {
      if (!res[which].has(key)) res[which].set(key, { ms: [], cpu: [] });
      res[which].get(key).ms.push(v.ms);
      res[which].get(key).cpu.push(v.cpu);
    }
  }
}
console.log(`median over ${rounds} rounds of the median of ${runs} runs (ms per mul_mat, 1 thread; wall time, and CPU time of the process)`);
console.log('shape'.padEnd(32), 'old ms'.padStart(9), 'new ms'.padStart(9), 'old/new'.padStart(8), ' |', 'old cpu'.padStart(9), 'new cpu'.padStart(9), 'old/new'.padStart(8));
const f = (x) => x.toFixed(3).padStart(9);
for (const [key, o] of res.old) {
  const n = res.new.get(key);
  if (!n) continue;
  const [ow, nw, oc, nc] = [median(o.ms), median(n.ms), median(o.cpu), median(n.cpu)];
  console.log(key.padEnd(32), f(ow), f(nw), (ow / nw).toFixed(2).padStart(8), ' |', f(oc), f(nc), (oc / nc).toFixed(2).padStart(8));
}
