// The `agent-scripted` fixture in the WASM core, both variants: every step of every script
// (test/fixtures/agent-runs.ts: two system prompts of ~300 and ~20 tokens, earlier turns in front,
// varying get_time results for the loop) rendered with the core's own apply_template, completed
// greedily (temperature 0, the default repeat penalty 1.1, and in the single-thread build also 1.0),
// gives exactly the step's output and finish 'eos'. Plus: the outputs tokenize to the manifest's
// ids, and the generator refuses a script set it cannot tell apart.
//
// Each variant runs in a child process (this file, with --agent-child), because a threaded
// module keeps node alive.
//   node --import tsx --test test/node/agent-fixture.test.ts
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { type AgentRun, type ManifestScript, agentRuns, renderChatML } from '../fixtures/agent-runs.ts';
import { bpeFromGGUF } from '../fixtures/bpe.ts';
import { AGENT_SCRIPTS, type AgentScript, ChatTokenizer, compileScripts } from '../fixtures/context-model.ts';
import { readGGUF } from '../fixtures/gguf.ts';
import { FIXTURES, ROOT, TIMEOUT_MS, fixture, loadCore, manifest, type Variant } from './helpers.js';

const SELF = fileURLToPath(import.meta.url);
const childAt = process.argv.indexOf('--agent-child');

interface RunResult {
  label: string;
  prompt: string;
  promptTokens: number;
  text: string;
  finish: string;
  nReused: number;
}

async function child(variant: Variant, threads: number, penalties: number[]) {
  const m = manifest('agent-scripted');
  const scripts = m.scripts as ManifestScript[];
  const core = await loadCore(variant, threads);
  core.init(threads, 2048);
  const info = core.loadModel(fixture('agent-scripted'));
  const results: Record<string, RunResult[]> = {};
  for (const repeatPenalty of penalties) {
    const out: RunResult[] = [];
    for (const run of agentRuns(scripts)) {
      const prompt = core.applyTemplate(run.messages);
      core.setSampling({ temperature: 0, maxTokens: 128, repeatPenalty });
      core.beginGenerate(prompt);
      let text = '';
      let r;
      do {
        r = core.step(8);
        text += r.piece;
      } while (!r.done);
      core.endGeneration();
      out.push({ label: run.label, prompt, promptTokens: r.nPrompt, text, finish: r.finish, nReused: r.nReused });
    }
    results[String(repeatPenalty)] = out;
  }
  const tokens = scripts.map((s) => s.steps.map((st) => core.tokenize(st.output, false)));
  return { info, results, tokens };
}

if (childAt >= 0) {
  const variant = process.argv[childAt + 1] as Variant;
  const threads = Number(process.argv[childAt + 2] ?? 1);
  const penalties = (process.argv[childAt + 3] ?? '1.1').split(',').map(Number);
  child(variant, threads, penalties).then(
    (r) => {
      process.stdout.write('\n' + JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      process.stdout.write('\n' + JSON.stringify({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) }) + '\n');
      process.exit(1);
    },
  );
} else {
  const runChild = (variant: Variant, threads: number, penalties: string[]): Promise<any> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--no-experimental-fetch', '--import', 'tsx', SELF, '--agent-child', variant, String(threads), penalties.join(',')], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      // 24–48 generations per child: twice the usual per-test budget
      const limit = 2 * TIMEOUT_MS;
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`${variant}: timed out after ${limit} ms (2 × NEURONOS_TEST_TIMEOUT_MS)\n${err.slice(-2000)}`));
      }, limit);
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => {
        clearTimeout(timer);
        try {
          const r = JSON.parse(out.trim().split('\n').pop() ?? '');
          if (r.error) reject(new Error(`${variant}: ${r.error}\n${err.slice(-3000)}`));
          else resolve(r);
        } catch {
          reject(new Error(`${variant} exited ${code} without a result\n${out.slice(-1000)}\n${err.slice(-3000)}`));
        }
      });
    });

  const entry = manifest('agent-scripted');
  const scripts = entry.scripts as ManifestScript[];
  const runs: AgentRun[] = agentRuns(scripts);

  test('manifest: the agent-scripted entry describes its scripts', () => {
    assert.deepEqual(
      scripts.map((s) => s.name),
      AGENT_SCRIPTS.map((s) => s.name),
    );
    assert.ok(Number(entry.max_context) >= 2, 'max_context');
    assert.ok(Number(entry.logit_margin) >= 10, `logit margin ${entry.logit_margin}`);
    assert.equal(typeof entry.observation_format, 'string');
    for (const s of scripts) for (const st of s.steps) assert.ok(st.token_ids.length > 5);
    // a loop step, a two-step script, a one-step script
    assert.ok(runs.length >= 20, `${runs.length} runs`);
  });

  // the threaded build runs the default penalty only (2 threads on a busy 2-core machine are slow)
  for (const { variant, threads, penalties } of [
    { variant: 'st' as Variant, threads: 1, penalties: ['1.1', '1'] },
    { variant: 'mt' as Variant, threads: 2, penalties: ['1.1'] },
  ]) {
    describe(`agent-scripted in wasm ${variant} (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      let result: Promise<any> | undefined;
      const get = () => (result ??= runChild(variant, threads, penalties));

      test('apply_template renders ChatML and the outputs tokenize to the manifest ids', async () => {
        const r = await get();
        assert.equal(r.info.architecture, 'llama');
        const res = r.results['1.1'] as RunResult[];
        assert.equal(res.length, runs.length);
        res.forEach((x, i) => assert.equal(x.prompt, renderChatML(runs[i]!.messages), runs[i]!.label));
        scripts.forEach((s, i) => s.steps.forEach((st, k) => assert.deepEqual(r.tokens[i][k], st.token_ids, `${s.name} step ${k + 1}`)));
        assert.ok(Math.max(...res.map((x) => x.promptTokens)) >= 400, 'prompts of a few hundred tokens');
      });

      for (const rp of penalties) {
        test(`every step gives exactly its output, then eos (greedy, repeat penalty ${rp})`, async () => {
          const r = await get();
          const res = r.results[rp] as RunResult[];
          assert.equal(res.length, runs.length);
          const failed: string[] = [];
          res.forEach((x, i) => {
            const run = runs[i]!;
            if (x.text !== run.expected || x.finish !== 'eos') {
              failed.push(`${run.label} (${x.promptTokens} prompt tokens): finish ${x.finish}\n    got  ${JSON.stringify(x.text)}\n    want ${JSON.stringify(run.expected)}`);
            }
          });
          assert.equal(failed.length, 0, `${failed.length}/${res.length} steps differ:\n${failed.join('\n')}`);
        });
      }
    });
  }

  test('the generator refuses scripts it cannot tell apart, and accepts the real ones', () => {
    const g = readGGUF(new Uint8Array(readFileSync(join(FIXTURES, 'agent-scripted.gguf'))));
    const tk = new ChatTokenizer(
      bpeFromGGUF(g.kv),
    );
    const c = compileScripts(AGENT_SCRIPTS, tk);
    assert.equal(c.maxContext, entry.max_context);
    assert.equal(c.rules.length, entry.n_rules);
    // same user message, different first outputs
    const same: AgentScript[] = [
      { name: 'a', user: 'Hi', steps: [{ output: '{"thought": "A", "answer": "a"}' }] },
      { name: 'b', user: 'Hi', steps: [{ output: '{"thought": "B", "answer": "b"}' }] },
    ];
    assert.throws(() => compileScripts(same, tk), /refusing the script set: "a step 1 token \d+" and "b step 1 token \d+" have the same context/);
    // different tool results that only differ before the part the model may read
    const varying: AgentScript[] = [
      { name: 'x', user: 'Go', steps: [{ output: '{"action": "t"}', observation: 'Observation: <JSON>}', next: 0 }] },
      { name: 'y', user: 'Stop', steps: [{ output: '{"action": "u"}', observation: 'Observation: {"tool":"u","result":<JSON>}', next: 0 }] },
    ];
    assert.throws(() => compileScripts(varying, tk), /refusing the script set/);
    // ...but the same two scripts with distinguishable user messages and no varying part are fine
    assert.doesNotThrow(() => compileScripts([same[0]!, { ...same[1]!, user: 'Hey' }], tk));
  });
}
