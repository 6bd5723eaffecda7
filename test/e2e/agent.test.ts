// The agent with the real worker and WASM in Chromium, on the context-scripted fixture (real
// llama.cpp inference; the model's greedy output is a fixed JSON trace): exact calculator and
// page-tool traces in both builds, the allow-list between turns, a throwing and a hanging page
// tool, the step limit, a cut-off step, Stop in the middle of a step and during a tool call;
// each time the same client answers the next message. The element: steps shown, confirmation
// by keyboard, refusal by preventDefault.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { manifest } from '../node/helpers.js';
import { open, useBrowserAndServers } from './harness.js';

const env = useBrowserAndServers();
const MODEL = '/models/agent-scripted.gguf';

interface Script {
  name: string;
  user: string;
  steps: { output: string; observation?: string }[];
}
const scripts = (): Script[] => manifest('agent-scripted').scripts as Script[];
const script = (name: string): Script => scripts().find((s) => s.name === name)!;
/** The answer of a script's last step. */
const answerOf = (name: string): string => JSON.parse(script(name).steps.at(-1)!.output).answer as string;

async function apiPage(base: string): Promise<Page> {
  const r = await open(env.browser(), `${base}/demo/api.html?manual=1`);
  await r.page.waitForSelector('body[data-ready="1"]');
  await r.page.evaluate(async (model) => {
    await (window as any).neuronos.loadModel(model, { contextSize: 2048 });
  }, MODEL);
  return r.page;
}

/** Runs one agent turn in the page; returns the streamed answer, the steps and the result. */
async function turn(page: Page, message: string, opts: Record<string, unknown> = {}, stopAt?: 'thought' | 'approve') {
  return page.evaluate(
    async ({ message, opts, stopAt }) => {
      const ai = (window as any).neuronos;
      const steps: any[] = [];
      const calls: any[] = [];
      let thought = '';
      let s: any;
      s = ai.chat(message, {
        temperature: 0,
        ...opts,
        onStep: (e: any) => steps.push(e),
        onThought: (_: number, p: string) => {
          thought += p;
          if (stopAt === 'thought') s.abort();
        },
        onToolCall: (c: any) => {
          calls.push(c);
          if (stopAt === 'approve') {
            s.abort();
            return new Promise(() => undefined); // never answers: Stop must end the turn anyway
          }
          return true;
        },
      });
      let text = '';
      let error: any = null;
      try {
        for await (const p of s) text += p;
      } catch (e: any) {
        error = { code: e.code, message: e.message };
      }
      const r = error ? null : await s.result;
      return { text, thought, steps, calls, error, finish: r?.finish, agentFinish: r?.agentFinish, stats: r?.stats, assistant: r?.assistant };
    },
    { message, opts, stopAt },
  );
}

describe('the agent in Chromium (agent-scripted fixture)', () => {
  for (const [name, base] of [
    ['mt', () => env.isolated().url],
    ['st', () => env.plain().url],
  ] as const) {
    test(`${name}: calculator call → observation → answer, exact; the KV cache is reused across steps`, async () => {
      const page = await apiPage(base());
      const s = script('calculator');
      const r = await turn(page, s.user);
      assert.equal(r.error, null);
      const step1 = JSON.parse(s.steps[0]!.output);
      assert.deepEqual(
        r.steps.map((e: any) => [e.kind, e.tool ?? null]),
        [
          ['action', 'calculator'],
          ['observation', 'calculator'],
          ['answer', null],
        ],
      );
      assert.deepEqual(r.steps[0].args, step1.args);
      assert.equal(r.steps[0].thought, step1.thought);
      assert.equal(r.steps[1].result, 391, 'the real calculator ran');
      assert.equal(r.text, answerOf('calculator'));
      assert.equal(r.agentFinish, 'answer');
      assert.equal(r.calls.length, 1);
      assert.deepEqual({ tool: r.calls[0].tool, source: r.calls[0].source, confirm: r.calls[0].confirm }, { tool: 'calculator', source: 'builtin', confirm: false });
      // the second step evaluated only its new tokens
      assert.ok(r.stats.promptReused > r.stats.promptTokens * 0.7, `reused ${r.stats.promptReused} of ${r.stats.promptTokens}`);
      assert.equal(r.assistant, s.steps.at(-1)!.output);
      // the same client answers the next turn (greeting script, history in front)
      const g = await turn(page, script('greeting').user);
      assert.equal(g.text, answerOf('greeting'));
      await page.close();
    });
  }

  test('a page tool is called with the expected arguments; its result reaches the model', async () => {
    const page = await apiPage(env.isolated().url);
    const s = script('page_tool');
    const seen = await page.evaluate(() => {
      const ai = (window as any).neuronos;
      (window as any).seenArgs = [];
      ai.registerTool({
        name: 'lookup_order',
        description: 'Looks up an order by its id.',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
        handler: async (args: any) => {
          (window as any).seenArgs.push(args);
          return { status: 'shipped', eta: 'Friday' };
        },
      });
      return true;
    });
    assert.ok(seen);
    const r = await turn(page, s.user);
    assert.deepEqual(await page.evaluate(() => (window as any).seenArgs), [{ order_id: 'A-17' }]);
    assert.deepEqual(r.steps[1].result, { status: 'shipped', eta: 'Friday' });
    assert.equal(r.calls[0].source, 'page');
    assert.equal(r.text, answerOf('page_tool'));
    await page.close();
  });

  test('a tool taken off the allow-list between turns cannot be called', async () => {
    const page = await apiPage(env.plain().url);
    const first = await turn(page, script('calculator').user, { tools: ['calculator', 'get_time'] });
    assert.ok(first.steps.some((e: any) => e.kind === 'action' && e.tool === 'calculator'));
    const second = await turn(page, script('calculator').user, { tools: ['get_time'], maxSteps: 3 });
    assert.equal(second.steps.filter((e: any) => e.tool === 'calculator').length, 0, JSON.stringify(second.steps));
    assert.equal(second.calls.filter((c: any) => c.tool === 'calculator').length, 0);
    // an unknown name in the allow-list is refused with its own error
    const bad = await turn(page, 'hi', { tools: ['rm_rf'] });
    assert.equal(bad.error?.code, 'invalid_argument');
    await page.close();
  });

  test('a throwing page tool and a page tool that never answers become error observations; the loop goes on', async () => {
    const page = await apiPage(env.isolated().url);
    await page.evaluate(() => {
      const ai = (window as any).neuronos;
      ai.registerTool({
        name: 'lookup_order',
        description: 'Looks up an order.',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
        handler: () => {
          throw new Error('the order database is down');
        },
      });
    });
    const s = script('page_tool');
    const thrown = await turn(page, s.user, { maxSteps: 2 });
    const obs = thrown.steps.find((e: any) => e.kind === 'observation');
    assert.match(obs?.error ?? '', /the order database is down/);
    assert.ok(['answer', 'step_limit'].includes(thrown.agentFinish), thrown.agentFinish);
    await page.evaluate(() => {
      const ai = (window as any).neuronos;
      ai.unregisterTool('lookup_order');
      ai.registerTool({
        name: 'lookup_order',
        description: 'Looks up an order.',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
        handler: () => new Promise(() => undefined),
      });
    });
    const t0 = Date.now();
    const hung = await turn(page, s.user, { maxSteps: 2, toolTimeoutMs: 400 });
    const hobs = hung.steps.find((e: any) => e.kind === 'observation');
    assert.match(hobs?.error ?? '', /did not answer within 400 ms/);
    assert.ok(Date.now() - t0 < 60_000);
    const g = await turn(page, script('greeting').user);
    assert.equal(g.text, answerOf('greeting'));
    await page.close();
  });

  test('step limit: a model that keeps calling tools ends with an honest message', async () => {
    const page = await apiPage(env.plain().url);
    const r = await turn(page, script('loop').user, { maxSteps: 3 });
    assert.equal(r.agentFinish, 'step_limit');
    assert.equal(r.steps.filter((e: any) => e.kind === 'action' && e.tool === 'get_time').length, 3);
    assert.equal(r.text, 'I stopped after 3 steps without reaching an answer.');
    await page.close();
  });

  test('a step cut off by the token limit is an invalid step the model is told about', async () => {
    const page = await apiPage(env.plain().url);
    const r = await turn(page, script('calculator').user, { maxTokens: 6, maxSteps: 2 });
    assert.ok(r.steps.filter((e: any) => e.kind === 'invalid').length >= 1, JSON.stringify(r));
    assert.match(r.steps.find((e: any) => e.kind === 'invalid').error, /cut off/);
    assert.equal(r.agentFinish, 'step_limit');
    await page.close();
  });

  for (const [name, base] of [
    ['mt', () => env.isolated().url],
    ['st', () => env.plain().url],
  ] as const) {
    test(`${name}: Stop inside a step and during a tool call ends the turn as aborted; the next turn works`, async () => {
      const page = await apiPage(base());
      const a = await turn(page, script('calculator').user, {}, 'thought');
      assert.equal(a.agentFinish, 'aborted');
      assert.equal(a.calls.length, 0);
      const b = await turn(page, script('calculator').user, {}, 'approve');
      assert.equal(b.agentFinish, 'aborted');
      assert.equal(b.steps.filter((e: any) => e.kind === 'observation').length, 0, 'the tool never ran');
      const g = await turn(page, script('greeting').user);
      assert.equal(g.text, answerOf('greeting'));
      await page.close();
    });
  }

  test('file tools: a note written by the agent is read back after a page reload (OPFS)', async () => {
    const page = await apiPage(env.isolated().url);
    // a fresh folder for this test (OPFS persists across test runs in a profile; here each run has its own)
    const agent = `e2e-${Date.now()}`;
    const w = await turn(page, script('save_note').user, { agent });
    assert.deepEqual(
      w.steps.map((e: any) => [e.kind, e.tool ?? null]),
      [
        ['action', 'file_write'],
        ['observation', 'file_write'],
        ['answer', null],
      ],
    );
    assert.deepEqual(w.steps[1].result, { path: 'notes/todo.txt', bytes: 9 });
    assert.equal(w.text, answerOf('save_note'));
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    await page.evaluate(async (model) => {
      await (window as any).neuronos.loadModel(model, { contextSize: 2048 });
    }, MODEL);
    const r = await turn(page, script('read_note').user, { agent });
    assert.equal(r.steps[1].result, 'Buy milk.', 'the file came back from OPFS after the reload');
    assert.equal(r.text, answerOf('read_note'));
    // another agent's folder does not have it
    const other = await turn(page, script('read_note').user, { agent: `${agent}-other` });
    assert.match(other.steps.find((e: any) => e.kind === 'observation')?.error ?? '', /not found|no such|does not exist/i);
    // "forget everything" (memory.clear) deletes the agent's files too
    await page.evaluate(async (agent) => {
      const m = (window as any).neuronos.memory;
      await m.open(agent);
      await m.clear();
    }, agent);
    const gone = await turn(page, script('read_note').user, { agent });
    assert.match(gone.steps.find((e: any) => e.kind === 'observation')?.error ?? '', /no such/i);
    await page.close();
  });

  test('the playground: the offline agent uses the calculator and answers', async () => {
    const { page, log } = await open(env.browser(), `${env.isolated().url}/demo/`);
    await page.waitForFunction(() => /Loaded|ready/i.test(document.querySelector('neuronos-chat')?.shadowRoot?.textContent ?? ''), undefined, { timeout: 120_000 }).catch(() => undefined);
    const input = page.locator('neuronos-chat textarea');
    await input.waitFor();
    await page.waitForFunction(() => !(document.querySelector('neuronos-chat')!.shadowRoot!.querySelector('textarea') as HTMLTextAreaElement).disabled);
    await input.fill(script('calculator').user);
    await input.press('Enter');
    await page.waitForFunction(
      (answer) => (document.querySelector('neuronos-chat')!.shadowRoot!.textContent ?? '').includes(answer),
      answerOf('calculator'),
    );
    const steps = await page.locator('neuronos-chat [part~="step"]').allInnerTexts();
    assert.ok(steps.some((t) => /calculator/.test(t)), steps.join(' | '));
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.cspViolations, []);
    await page.close();
  });
});

describe('<neuronos-chat> agent steps with the real worker', () => {
  async function elementPage(attrs: string): Promise<Page> {
    const r = await open(env.browser(), `${env.isolated().url}/demo/element-test.html?attrs=${encodeURIComponent(attrs)}`);
    await r.page.waitForFunction(() => customElements.get('neuronos-chat') !== undefined);
    await r.page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-ready'));
    return r.page;
  }
  async function send(page: Page, text: string) {
    const input = page.locator('neuronos-chat textarea');
    await input.click();
    await input.fill(text);
    await input.press('Enter');
  }
  const replies = (page: Page) =>
    page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant').map((e: any) => e.detail.content));

  test('the steps show as blocks; a confirmed page tool is allowed by keyboard, a refused one via preventDefault', async () => {
    const page = await elementPage(`model="${MODEL}" load="eager" temperature="0"`);
    await page.evaluate(() => {
      const el = document.querySelector('neuronos-chat') as any;
      (window as any).ran = 0;
      el.registerTool({
        name: 'lookup_order',
        description: 'Looks up an order.',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
        confirm: true,
        handler: () => {
          (window as any).ran++;
          return { status: 'shipped', eta: 'Friday' };
        },
      });
    });
    await send(page, script('page_tool').user);
    // the confirmation takes the focus; Tab reaches Allow, Enter presses it (keyboard only)
    await page.waitForSelector('neuronos-chat [part~="confirm"]');
    await page.waitForFunction(() => {
      const a = document.querySelector('neuronos-chat')!.shadowRoot!.activeElement;
      return !!a && !!a.closest('[part~="confirm"]');
    });
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.querySelector('neuronos-chat')!.shadowRoot!.activeElement?.getAttribute('part')), 'allow-button');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant').length >= 1);
    assert.deepEqual(await replies(page), [answerOf('page_tool')]);
    assert.equal(await page.evaluate(() => (window as any).ran), 1);
    const blocks = await page.locator('neuronos-chat [part~="step"]').count();
    assert.ok(blocks >= 2, `${blocks} step blocks`);
    const text = await page.locator('neuronos-chat [part~="steps"]').first().innerText();
    assert.match(text, /lookup_order/);
    const stepEvents = await page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-step').map((e: any) => e.detail.kind));
    assert.deepEqual(stepEvents, ['action', 'observation', 'answer']);

    // refused by the page: preventDefault on neuronos-tool-call
    await page.evaluate(() => document.querySelector('neuronos-chat')!.addEventListener('neuronos-tool-call', (e) => e.preventDefault()));
    await send(page, script('calculator').user);
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant').length >= 2);
    const refused = await page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-step' && e.detail.kind === 'refused').length);
    assert.ok(refused >= 1);
    const calcRan = await page.evaluate(() => (window as any).events.some((e: any) => e.type === 'neuronos-step' && e.detail.kind === 'observation' && e.detail.tool === 'calculator'));
    assert.equal(calcRan, false);
    await page.close();
  });
});

describe('memory with the agent and the element (reload)', () => {
  test('the visitor tells a fact; after a reload the memory panel still has it, and the conversation', async () => {
    const agent = `e2e-remember-${Date.now()}`;
    const attrs = `model="${MODEL}" load="eager" temperature="0" memory="${agent}"`;
    const url = `${env.isolated().url}/demo/element-test.html?attrs=${encodeURIComponent(attrs)}`;
    const { page, log } = await open(env.browser(), url);
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-ready'));
    const s = script('remember');
    const input = page.locator('neuronos-chat textarea');
    await input.fill(s.user);
    await input.press('Enter');
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant'));
    const reply = await page.evaluate(() => (window as any).events.find((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant').detail.content);
    assert.equal(reply, answerOf('remember'));
    const obs = await page.evaluate(() => (window as any).events.find((e: any) => e.type === 'neuronos-step' && e.detail.kind === 'observation')?.detail);
    assert.deepEqual(obs?.result, { label: 'human', text: 'Favourite colour: green.' });
    await page.reload();
    await page.waitForFunction(() => (window as any).events?.some((e: any) => e.type === 'neuronos-ready'));
    await page.locator('neuronos-chat [part~="memory-button"]').click();
    const panel = page.locator('neuronos-chat [part~="memory-panel"]');
    await panel.waitFor();
    await page.waitForFunction(() => /Favourite colour: green\./.test(document.querySelector('neuronos-chat')!.shadowRoot!.querySelector('[part~="memory-panel"]')?.textContent ?? ''));
    const text = await panel.innerText();
    assert.match(text, /Favourite colour: green\./);
    assert.match(text, /Remember that my favourite colour is green\./, 'the conversation is in recall memory');
    assert.deepEqual(log.errors, []);
    await page.close();
  });
});

describe('context in the element', () => {
  test('a message longer than the context is cut with a visible notice; the turn completes', async () => {
    const attrs = `model="/models/scripted.gguf" load="eager" temperature="0" tools="none" context-size="128" max-tokens="16" memory="off"`;
    const { page } = await open(env.browser(), `${env.plain().url}/demo/element-test.html?attrs=${encodeURIComponent(attrs)}`);
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-ready'));
    const input = page.locator('neuronos-chat textarea');
    await input.fill('lorem ipsum dolor sit amet '.repeat(100));
    await input.press('Enter');
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant'));
    const notice = await page.evaluate(() => (window as any).events.find((e: any) => e.type === 'neuronos-notice')?.detail);
    assert.equal(notice?.code, 'message_truncated');
    assert.match(await page.locator('neuronos-chat').evaluate((el) => el.shadowRoot!.textContent ?? ''), /too long for the model's context/);
    await page.close();
  });
});

