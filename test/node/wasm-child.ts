// One test scenario against one WASM variant, in its own process; prints one JSON line.
//   node --import tsx test/node/wasm-child.ts <st|mt> <scenario> '<json args>'
import { NeuronOSError } from '../../src/errors.js';
import type { Core } from '../../src/worker/core.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, fixture, loadCore, manifest, type Variant } from './helpers.js';

const [variant, scenario, rawArgs] = process.argv.slice(2) as [Variant, string, string];
const args = JSON.parse(rawArgs || '{}') as { threads?: number; ctx?: number; [k: string]: unknown };

function codeOf(f: () => unknown): { code: string; message: string } | null {
  try {
    f();
    return null;
  } catch (e) {
    const err = NeuronOSError.from(e, 'internal');
    return { code: err.code, message: err.message };
  }
}

function drain(core: Core): { text: string; finish: string; steps: number; nReused: number } {
  let text = '';
  let steps = 0;
  for (;;) {
    const r = core.step(4);
    text += r.piece;
    steps++;
    if (r.done) {
      core.endGeneration();
      return { text, finish: r.finish, steps, nReused: r.nReused };
    }
  }
}

const scenarios: Record<string, (core: Core) => unknown> = {
  /** The seed's one-shot agent call on the context-scripted fixture: the calculator runs in C. */
  agentOnce(core) {
    const m = manifest('agent-scripted');
    const s = (m.scripts as { name: string; user: string; steps: { output: string }[] }[]).find((x) => x.name === 'calculator')!;
    core.loadModel(fixture('agent-scripted'));
    core.setSampling({ temperature: 0, maxTokens: 256 });
    const text = core.agentChat(s.user);
    return { text, want: JSON.parse(s.steps.at(-1)!.output).answer as string };
  },
  scripted(core) {
    const m = manifest('scripted');
    const info = core.loadModel(fixture('scripted'));
    core.setSampling({ temperature: 0, maxTokens: 64 });
    core.beginGenerate(m.raw_prompt as string);
    const raw = drain(core);
    core.beginChat([{ role: 'user', content: 'Who are you?' }]);
    const chat = drain(core);
    core.beginChat([{ role: 'user', content: 'Who are you?' }]);
    const chat2 = drain(core);
    const once = core.generateOnce(m.raw_prompt as string, 64, 0);
    return { info, raw, chat, chat2, once, expected: m.script, systemInfo: core.systemInfo() };
  },

  errors(core) {
    const good = fixture('scripted');
    const m = manifest('scripted');
    const results: Record<string, unknown> = {};
    results.noModel = codeOf(() => core.beginGenerate('hi'));
    results.empty = codeOf(() => core.loadModel(new Uint8Array(0)));
    results.truncated = codeOf(() => core.loadModel(good.slice(0, Math.floor(good.length / 2))));
    const wrong = good.slice();
    wrong[0] = 0x58;
    results.wrongMagic = codeOf(() => core.loadModel(wrong));
    results.html = codeOf(() => core.loadModel(new TextEncoder().encode('<!DOCTYPE html><html><body>404</body></html>')));
    results.unknownType = codeOf(() => core.loadModel(fixture('bad-unknown-type')));
    results.tooLarge = codeOf(() => core.loadModel(fixture('bad-too-large')));
    results.badTruncated = codeOf(() => core.loadModel(fixture('bad-truncated')));
    core.loadModel(good);
    core.setSampling({ temperature: 0, maxTokens: 0 });
    core.beginGenerate(m.raw_prompt as string);
    results.zero = drain(core);
    results.negative = codeOf(() => core.setSampling({ maxTokens: -1 }));
    results.nanTemperature = codeOf(() => core.setSampling({ temperature: Number.NaN }));
    core.setSampling({ temperature: 0, maxTokens: 16 });
    results.contextFull = codeOf(() => core.beginGenerate(' hello'.repeat(3000)));
    results.badMessages = codeOf(() => core.beginChat([{ role: 'user' } as never]));
    results.stepWithout = codeOf(() => core.step());
    results.agent = codeOf(() => core.agentChat('hi'));
    results.memoryInit = codeOf(() => core.memoryInit());
    // the seed's memory calls over the store in RAM (no model needed for them)
    results.memorySeed = (() => {
      const id = core.memoryStore(2, 'pets, cats', 'Ada has a cat called Turing.');
      core.memoryStore(0, 'human', 'Name: Ada');
      return { id, hits: core.memorySearch('turing', 5), path: core.memoryPath(), persistentWithoutFiles: codeOf(() => core.memoryOpen('visitor', true)), after: codeOf(() => core.memoryStore(2, null, 'x')) };
    })();
    core.setSampling({ temperature: 0, maxTokens: 64 });
    core.beginGenerate(m.raw_prompt as string);
    results.after = drain(core);
    results.expected = m.script;
    return results;
  },

  abort(core) {
    core.loadModel(fixture('tiny-random'));
    core.setSampling({ temperature: 0, maxTokens: 200, ignoreEos: true });
    const k = Number(args.after ?? 5);
    core.beginGenerate('Once upon a time');
    let generated = 0;
    let r;
    do {
      r = core.step(1);
      generated += r.nTokens;
      if (generated === k) core.requestAbort();
    } while (!r.done);
    core.endGeneration();
    // a new generation starts clean after an abort
    core.setSampling({ temperature: 0, maxTokens: 8, ignoreEos: true });
    core.beginGenerate('Once upon a time');
    const after = drain(core);
    return { finish: r.finish, generated: r.nGenerated, after };
  },

  /** BitNet b1.58 (I2_S): the scripted text, the bad files, logits against the TS reference. */
  bitnet(core) {
    const m = manifest('bitnet-scripted');
    const info = core.loadModel(fixture('bitnet-scripted'));
    core.setSampling({ temperature: 0, maxTokens: 32 });
    core.beginGenerate(m.raw_prompt as string);
    const raw = drain(core);
    core.beginChat([{ role: 'user', content: 'Who are you?' }]);
    const chat = drain(core);
    const bad = Object.fromEntries(
      ['bad-i2s-no-scale', 'bad-i2s-code3', 'bad-i2s-truncated'].map((n) => [n, codeOf(() => core.loadModel(fixture(n)))]),
    );
    const r = manifest('bitnet-random') as unknown as { reference: { token_ids: number[]; file: string } };
    core.loadModel(fixture('bitnet-random'));
    const ref = new Float32Array(readFileSync(join(FIXTURES, r.reference.file)).buffer.slice(0));
    const compare = (rows: Float32Array[]) =>
      rows.map((g, p) => {
        const n = g.length;
        const want = ref.subarray(p * n, (p + 1) * n);
        let mean = 0;
        for (let i = 0; i < n; i++) mean += want[i]!;
        mean /= n;
        let v = 0, se = 0, max = 0;
        for (let i = 0; i < n; i++) {
          v += (want[i]! - mean) ** 2;
          const e = Math.abs(g[i]! - want[i]!);
          se += e * e;
          if (e > max) max = e;
        }
        return { sd: Math.sqrt(v / n), rms: Math.sqrt(se / n), max, nVocab: n };
      });
    const batch = compare(core.evalLogits(r.reference.token_ids, false));
    const oneByOne = compare(core.evalLogits(r.reference.token_ids, true));
    return { info, raw, chat, script: m.script, bad, batch, oneByOne, refLength: ref.length, nTokens: r.reference.token_ids.length, systemInfo: core.systemInfo() };
  },

  /** llama.cpp's tokenizer on the scripted fixture's Qwen2 vocabulary, for texts given in args */
  tokenize(core) {
    core.loadModel(fixture('scripted'));
    return { ids: (args.texts as string[]).map((t) => core.tokenize(t, false)) };
  },

  /** A Q4_0 model mapped in place (as the worker loads downloads), with and without the in-place
   *  repack: what was repacked, the heap, the logits of a prompt, greedy text; then a copy load. */
  repack(core) {
    const bytes = fixture(String(args.model ?? 'tiny-random-q4_0'));
    const threads = args.threads ?? 1;
    const run = (repack: boolean, mapped: boolean) => {
      core.unload();
      core.init(threads, 256, repack);
      let info;
      if (mapped) {
        const ptr = core.allocModel(bytes.length);
        core.heap(ptr, bytes.length).set(bytes);
        info = core.loadMapped([ptr], [bytes.length]);
      } else {
        info = core.loadModel(bytes);
      }
      const mem = core.memoryStats();
      const ids = core.tokenize('Once upon a time there was a small language model', false);
      const logits = core.evalLogits(ids, false).map((row) => Array.from(row));
      core.setSampling({ temperature: 0, maxTokens: 24, ignoreEos: true });
      core.beginGenerate('Once upon a time');
      const text = drain(core).text;
      const md = info.metadata;
      const shape = { n_layer: +md['qwen2.block_count']!, n_embd: +md['qwen2.embedding_length']!, n_ff: +md['qwen2.feed_forward_length']!, n_head: +md['qwen2.attention.head_count']!, n_head_kv: +md['qwen2.attention.head_count_kv']! };
      return { repacked: info.repacked_bytes, inUse: mem.malloc_in_use_bytes, shape, logits, text };
    };
    const plain = run(false, true);
    const repacked = run(true, true);
    const copied = run(true, false);
    // max |logit difference| against the file layout's, the largest |logit|, and the lowest
    // correlation of a row of logits with the file layout's row
    const diff = (o: typeof plain) => {
      let worst = 0;
      let scale = 0;
      let corr = 1;
      o.logits.forEach((row, i) => {
        const ref = plain.logits[i]!;
        const n = row.length;
        const ma = row.reduce((s, v) => s + v, 0) / n;
        const mb = ref.reduce((s, v) => s + v, 0) / n;
        let sab = 0, saa = 0, sbb = 0;
        row.forEach((v, j) => {
          const w = ref[j]!;
          worst = Math.max(worst, Math.abs(v - w));
          scale = Math.max(scale, Math.abs(w));
          sab += (v - ma) * (w - mb);
          saa += (v - ma) ** 2;
          sbb += (w - mb) ** 2;
        });
        corr = Math.min(corr, sab / Math.sqrt(saa * sbb));
      });
      return { worst, scale, corr, rows: o.logits.length };
    };
    const brief = ({ logits: _l, ...rest }: typeof plain) => rest;
    return { size: bytes.length, plain: brief(plain), repacked: { ...brief(repacked), diff: diff(repacked) }, copied: { ...brief(copied), diff: diff(copied) } };
  },

  tokens(core) {
    core.loadModel(fixture(String(args.model ?? 'tiny-random')));
    core.setSampling({ temperature: 0, maxTokens: Number(args.n ?? 48), ignoreEos: true });
    core.beginGenerate('Once upon a time');
    const greedy = drain(core);
    core.setSampling({ temperature: 0.8, seed: 1234, maxTokens: Number(args.n ?? 48), ignoreEos: true });
    core.beginGenerate('Once upon a time');
    const sampled = drain(core);
    return { greedy, sampled, tokens: core.tokenize(greedy.text, false) };
  },
};

async function main() {
  const threads = args.threads ?? 1;
  const core = await loadCore(variant, threads);
  core.init(threads, args.ctx ?? 512);
  const fn = scenarios[scenario];
  if (!fn) throw new Error(`unknown scenario ${scenario}`);
  const result = fn(core);
  process.stdout.write('\n' + JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stdout.write('\n' + JSON.stringify({ error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }) + '\n');
    process.exit(1);
  },
);
