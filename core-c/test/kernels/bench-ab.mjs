// A/B timing of two builds of test_kernels in ONE node process, alternating run by run, so that
// a busy or throttled machine slows both alike. Build each with the A/B flags (see README.md):
//   -sMODULARIZE=1 -sINVOKE_RUN=0 -sEXPORTED_FUNCTIONS=_main,_kt_ab_prepare,_kt_ab_time,_kt_ab_release,_kt_ab_shapes
// then: node --no-experimental-fetch core-c/test/kernels/bench-ab.mjs OLD.js NEW.js [pairs=9] [type, e.g. q4_0 or all] [n list, e.g. 1 or 1,63,64]
// Prints per shape: median ms of each build, and the median of the per-pair ratios old/new.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const [oldJs, newJs, pairsArg, typeArg, nsArg] = process.argv.slice(2);
const filter = typeArg === 'all' ? undefined : typeArg;
if (!oldJs || !newJs) {
  console.error('usage: node --no-experimental-fetch bench-ab.mjs OLD.js NEW.js [pairs]');
  process.exit(2);
}
const PAIRS = Number(pairsArg ?? 9);
const require = createRequire(import.meta.url);
const load = async (p) => require(resolve(p))({ print: () => {}, printErr: (s) => process.stderr.write(s + '\n') });
const [A, B] = [await load(oldJs), await load(newJs)];

const SHAPES = [
  ['q4_0', 896, 4864], ['q4_0', 4864, 896], ['q8_0', 896, 4864], ['q8_0', 4864, 896], ['q4_K', 4864, 896],
  ['q4_0', 896, 896], ['q4_0', 896, 151936], ['q8_0', 896, 896], ['q8_0', 896, 151936], ['q4_K', 896, 4864],
  // many weight matrices in turn (~160 MB: from memory, as in generation; n = 1 only), ms per product
  ['q4_0', 896, 896, 330], ['q4_0', 896, 4864, 64], ['q4_0', 4864, 896, 64],
  ['q8_0', 896, 896, 176], ['q8_0', 896, 4864, 36], ['q8_0', 4864, 896, 36], ['q4_K', 896, 4864, 52],
]; // = BENCH_SHAPES in test_kernels.c ({type, k, m, copies})
const NS = nsArg ? nsArg.split(',').map(Number) : [1, 63, 64]; // columns (1: generation)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
if (A._kt_ab_shapes() !== SHAPES.length || B._kt_ab_shapes() !== SHAPES.length) throw new Error('shape tables differ');

console.log(`mul_mat, 1 thread, ${PAIRS} alternating pairs of runs (each run >= 40 ms of repeated products), ms per product`);
console.log('shape'.padEnd(30), 'nrows'.padStart(5), 'old ms'.padStart(9), 'new ms'.padStart(9), 'old/new'.padStart(8), 'min-pair'.padStart(9));
for (let si = 0; si < SHAPES.length; si++) {
  if (filter && SHAPES[si][0] !== filter) continue;
  for (const n of NS) {
    if ((SHAPES[si][3] ?? 1) > 1 && n !== 1) continue;
    const ra = A._kt_ab_prepare(si, n), rb = B._kt_ab_prepare(si, n);
    if (ra < 0 || rb < 0) throw new Error('prepare failed');
    // warm-up: 300 ms each (V8 tiers hot functions up from its baseline compiler)
    const warm = []; // ms per product
    for (const M of [A, B, A, B]) { const t0 = performance.now(); while (performance.now() - t0 < 150) warm.push(M._kt_ab_time(1)); }
    const reps = Math.max(1, Math.ceil(40 / (median(warm) * (SHAPES[si][3] ?? 1)))); // graph runs per timed run
    const ta = [], tb = [], ratio = [];
    for (let p = 0; p < PAIRS; p++) {
      let a, b;
      if (p % 2) { b = B._kt_ab_time(reps); a = A._kt_ab_time(reps); } else { a = A._kt_ab_time(reps); b = B._kt_ab_time(reps); }
      ta.push(a); tb.push(b); ratio.push(a / b);
    }
    A._kt_ab_release(); B._kt_ab_release();
    const [name, k, m, copies] = SHAPES[si];
    console.log(`${name} k=${k} m=${m} n=${n}${copies ? ` x${copies}` : ''}`.padEnd(30), `${ra}/${rb}`.padStart(5), median(ta).toFixed(3).padStart(9), median(tb).toFixed(3).padStart(9),
      median(ratio).toFixed(2).padStart(8), (Math.min(...ta) / Math.min(...tb)).toFixed(2).padStart(9));
  }
}
