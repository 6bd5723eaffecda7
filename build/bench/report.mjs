// Summaries, ratios and the printed / Markdown tables of `npm run bench`.

/** {median, min, max, n} of the finite numbers in `xs`; null when there are none. */
export function summarize(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const label = (r) => (r.engine === 'neuronos' ? `neuronos (${r.build})` : r.engine);

function fmt(x, digits) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (digits == null) digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toFixed(digits);
}

const cell = (s, digits) => (s ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : '–');
const ratio = (a, b) => (a && b && b.median > 0 ? a.median / b.median : null);
const fmtRatio = (x) => (x == null ? '–' : `${x.toFixed(2)}×`);

/** Ratio rows: each NeuronOS build against wllama and native at the same model × threads. */
export function ratios(records) {
  const out = [];
  for (const r of records.filter((x) => x.engine === 'neuronos')) {
    const w = records.find((x) => x.engine === 'wllama' && x.model === r.model && x.threads === r.threads);
    const n = records.find((x) => x.engine === 'native' && x.model === r.model && x.threads === r.threads);
    out.push({
      model: r.model,
      threads: r.threads,
      build: r.build,
      vs_wllama: w ? { pp: ratio(r.pp_tps, w.pp_tps), tg: ratio(r.tg_tps, w.tg_tps), load: ratio(r.load_ms, w.load_ms), peak: r.peak_mb && w.peak_mb ? r.peak_mb.median / w.peak_mb.median : null } : null,
      vs_native: n ? { pp: ratio(r.pp_tps, n.pp_tps), tg: ratio(r.tg_tps, n.tg_tps) } : null,
    });
  }
  return out;
}

function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(w[i])).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function md(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function resultRows(records) {
  return records.map((r) => [
    r.model,
    r.threads,
    label(r),
    cell(r.pp_tps),
    r.first_pp_tps ? cell(r.first_pp_tps) : '–',
    cell(r.tg_tps),
    cell(r.load_ms, 0),
    r.peak_mb ? fmt(r.peak_mb.median, 0) : '–',
    r.errors?.length ? `${r.errors.length} failed` : r.pp_tps ? r.pp_tps.n : 0,
  ]);
}
const RESULT_HEAD = ['model', 'thr', 'engine', 'pp t/s median (min–max)', 'first pp t/s', 'tg t/s median (min–max)', 'load ms median (min–max)', 'peak MB', 'n'];

function ratioRows(rs) {
  return rs.map((x) => [
    x.model,
    x.threads,
    x.build,
    fmtRatio(x.vs_wllama?.pp),
    fmtRatio(x.vs_wllama?.tg),
    fmtRatio(x.vs_wllama?.load),
    fmtRatio(x.vs_wllama?.peak),
    fmtRatio(x.vs_native?.pp),
    fmtRatio(x.vs_native?.tg),
  ]);
}
const RATIO_HEAD = ['model', 'thr', 'neuronos build', 'pp ÷ wllama', 'tg ÷ wllama', 'load ÷ wllama', 'peak ÷ wllama', 'pp ÷ native', 'tg ÷ native'];

function sizeRows(wasm) {
  return Object.entries(wasm).map(([f, s]) => [f, (s.raw / 1024).toFixed(0), (s.gzip / 1024).toFixed(0)]);
}

// ---- the memory store (core-c/bench/memory_bench.c) -------------------------------------------

const count = (x) => x.toLocaleString('en-US');
const ms = (x) => (x == null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const mib = (b) => (b / 2 ** 20).toFixed(1);

/** The memory store's headline and details as lines (null when it was not run). */
function memoryLines(ms_) {
  if (!ms_) return null;
  if (ms_.error) return { lines: [`Memory store: not measured (${ms_.error})`], kinds: null };
  const f = ms_.file;
  const ai = f.archival_insert;
  const as = f.archival_search.latency_ms;
  const fs = ms_.db.filesystem ? `${ms_.db.filesystem} in ${ms_.db.dir}` : ms_.db.dir;
  const lines = [
    `Memory store (native, file on disk): ${count(ms_.facts)} archival facts, insert ${count(Math.round(ai.per_s))}/s (each a durable transaction), ` +
      `search median ${ms(as.median)} ms (p90 ${ms(as.p90)} ms) over ${count(ms_.queries)} queries, DB size ${mib(ms_.db.archival_bytes)} MiB`,
    `- insert: one archival_insert call per fact, each its own transaction, durable when it returns (rollback journal, synchronous=FULL: ` +
      `fsyncs every call); per call median ${ms(ai.latency_ms.median)} ms, p99 ${ms(ai.latency_ms.p99)} ms, max ${ms(ai.latency_ms.max)} ms; ` +
      `${count(Math.round(ai.first_tenth_per_s))}/s over the first tenth, ${count(Math.round(ai.last_tenth_per_s))}/s over the last`,
    `- search: archival_search (limit ${ms_.limit}) after closing and reopening the database (${ms(ms_.db.reopen_ms)} ms), ${ms_.warmup_queries} warm-up queries discarded; ` +
      `max ${ms(as.max)} ms; ${(ms_.db.archival_bytes / ms_.facts).toFixed(0)} bytes per fact`,
  ];
  if (f.recall_add) {
    const ra = f.recall_add;
    const rs = f.recall_search.latency_ms;
    lines.push(
      `- recall: ${count(ra.count)} messages added at ${count(Math.round(ra.per_s))}/s (durable, per call median ${ms(ra.latency_ms.median)} ms); ` +
        `recall_search over all conversations median ${ms(rs.median)} ms (p90 ${ms(rs.p90)} ms, max ${ms(rs.max)} ms); DB then ${mib(ms_.db.final_bytes)} MiB`,
    );
  }
  if (ms_.in_memory) {
    const mi = ms_.in_memory;
    lines.push(
      `- the same in ":memory:" (no file, no fsync: the CPU cost): insert ${count(Math.round(mi.archival_insert.per_s))}/s, ` +
        `search median ${ms(mi.archival_search.latency_ms.median)} ms (p90 ${ms(mi.archival_search.latency_ms.p90)} ms)`,
    );
  }
  lines.push(
    `- SQLite ${ms_.sqlite}, database on ${fs}. The browser's OPFS VFS is not in these figures.`,
  );
  const kinds = Object.keys(f.archival_search.by_kind).map((k) => {
    const a = f.archival_search.by_kind[k];
    const mm = ms_.in_memory?.archival_search.by_kind[k];
    const r = f.recall_search?.by_kind[k];
    return [k, a.n, count(ms_.matches_by_kind?.[k]?.median ?? 0), ms(a.median), ms(a.p90), ms(a.max), mm ? ms(mm.median) : '–', r ? ms(r.median) : '–'];
  });
  return { lines, kinds };
}
const KIND_HEAD = ['query kind', 'n', 'rows matched (median)', 'archival ms median', 'p90', 'max', ':memory: median', 'recall median'];

/** Plain-text report for the terminal. */
export function textReport(res) {
  const parts = [];
  if (res.records.length) {
    parts.push(
      table(RESULT_HEAD, resultRows(res.records)),
      '',
      'Ratios (NeuronOS ÷ other; pp/tg above 1 = NeuronOS faster; load/peak below 1 = NeuronOS lower):',
      table(RATIO_HEAD, ratioRows(res.ratios)),
      '',
      'File sizes (KiB):',
      table(['file', 'raw', 'gzip -9'], sizeRows(res.wasm)),
    );
  }
  const mem = memoryLines(res.memory_store);
  if (mem) {
    if (parts.length) parts.push('');
    parts.push(...mem.lines);
    if (mem.kinds) parts.push('', 'Search latency by query kind (ms):', table(KIND_HEAD, mem.kinds));
  }
  if (res.notes.length) parts.push('', 'Notes:', ...res.notes.map((n) => `- ${n}`));
  return parts.join('\n');
}

/** Markdown for the README's Performance section. */
export function markdownReport(res) {
  const m = res.machine;
  const c = res.config;
  const mem = memoryLines(res.memory_store);
  const memoryPart = mem
    ? [
        `**${mem.lines[0].replace(/^Memory store \(native, file on disk\): /, 'Memory store (native, file on disk):** ')}`,
        '',
        ...mem.lines.slice(1),
        ...(mem.kinds ? ['', md(KIND_HEAD, mem.kinds)] : []),
        '',
      ]
    : [];
  if (!res.records.length) {
    return [
      `### Memory store benchmark (${res.date.slice(0, 10)})`,
      '',
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB RAM, ${m.os}; node ${m.node}. ` +
        `Load average at start ${m.loadavg_start.map((x) => x.toFixed(2)).join(' / ')}, at end ${m.loadavg_end.map((x) => x.toFixed(2)).join(' / ')}.`,
      '',
      ...memoryPart,
      'How measured: see `build/bench/README.md`. Reproduce: `npm run bench -- --engines memory --markdown`.',
      ...(res.notes.length ? ['', ...res.notes.map((n) => `- ${n}`)] : []),
      '',
    ].join('\n');
  }
  return [
    `### Benchmark (${res.date.slice(0, 10)})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB RAM, ${m.os}; ${res.chromium} (headless); node ${m.node}. ` +
      `Load average at start ${m.loadavg_start.map((x) => x.toFixed(2)).join(' / ')}, at end ${m.loadavg_end.map((x) => x.toFixed(2)).join(' / ')}.`,
    '',
    `${c.prompt_tokens}-token prompt (pp), ${c.gen_tokens} generated tokens with end-of-sequence ignored (tg), greedy, context ${c.context_size}; ` +
      `${c.reps} repetition${c.reps === 1 ? '' : 's'} per row${c.warmup_rounds ? ` after ${c.warmup_rounds} discarded warm-up round${c.warmup_rounds === 1 ? '' : 's'}` : ''}, engines interleaved; ` +
      `each browser repetition is a fresh browser context (cold load) with an in-page warm-up (a 128-token prompt, 16 tokens; its prompt speed is the "first pp" column) before measuring. Median (min–max).`,
    '',
    md(RESULT_HEAD, resultRows(res.records)),
    '',
    'NeuronOS ÷ other (pp/tg above 1: NeuronOS faster; load/peak below 1: NeuronOS lower):',
    '',
    md(RATIO_HEAD, ratioRows(res.ratios)),
    '',
    'Files (KiB):',
    '',
    md(['file', 'raw', 'gzip -9'], sizeRows(res.wasm)),
    '',
    ...memoryPart,
    'How measured: see `build/bench/README.md`. Reproduce: `npm run bench -- --markdown`.',
    'The models are random-weight fixtures with the real shapes: they measure speed, not quality.',
    ...(res.notes.length ? ['', ...res.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
