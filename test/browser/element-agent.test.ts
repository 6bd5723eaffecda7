/**
 * <neuronos-chat> agent turns in headless Chromium, against the fake client
 * (test/browser/fake-client.ts scripts the steps, thoughts, tool calls and answers).
 * No timing assertions: every wait is "until this state is reached" with a generous limit.
 */
import { aTimeout, expect, fixture, html, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import '../../components/neuronos-chat/define.js';
import { NeuronOSChat, type NeuronOSChatEventMap } from '../../components/neuronos-chat/neuronos-chat.js';
import { NeuronOSError } from '../../src/errors.js';
import type { AgentStepEvent, PageTool, ToolCallRequest } from '../../src/agent-types.js';
import { FakeBackend, type FakeStream, type ReplyScript } from './fake-client.js';
import { XSS_CORPUS } from './xss-corpus.js';

declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: () => void | Promise<void>): void;
declare function beforeEach(fn: () => void | Promise<void>): void;
declare function afterEach(fn: () => void | Promise<void>): void;

declare global {
  interface Window {
    __xss?: unknown;
  }
}

const MODEL = 'https://models.example/org/repo/resolve/main/qwen2.5-0.5b-instruct-q4_0.gguf';
const WAIT_MS = 8000;

type EventName = keyof NeuronOSChatEventMap;
type Detail<K extends EventName> = NeuronOSChatEventMap[K]['detail'];
const EVENT_NAMES: EventName[] = ['neuronos-step', 'neuronos-tool-call', 'neuronos-message', 'neuronos-error'];

let backend: FakeBackend;
let events: Array<{ type: EventName; detail: unknown; bubbles: boolean; composed: boolean; cancelable: boolean }> = [];
const recordEvent = (e: Event) =>
  events.push({ type: e.type as EventName, detail: (e as CustomEvent).detail, bubbles: e.bubbles, composed: e.composed, cancelable: e.cancelable });

beforeEach(() => {
  backend = new FakeBackend();
  NeuronOSChat.clientFactory = backend.factory;
  events = [];
  for (const t of EVENT_NAMES) document.addEventListener(t, recordEvent);
  delete window.__xss;
});

afterEach(async () => {
  for (const t of EVENT_NAMES) document.removeEventListener(t, recordEvent);
  await emulateMedia({ colorScheme: 'light' });
});

// --- helpers --------------------------------------------------------------------------------------

const root = (el: NeuronOSChat): ShadowRoot => el.shadowRoot!;
function part<T extends HTMLElement = HTMLElement>(scope: NeuronOSChat | HTMLElement, name: string): T | null {
  const r = scope instanceof NeuronOSChat ? root(scope) : scope;
  return r.querySelector<T>(`[part~="${name}"]`);
}
function parts(scope: NeuronOSChat | HTMLElement, name: string): HTMLElement[] {
  const r = scope instanceof NeuronOSChat ? root(scope) : scope;
  return [...r.querySelectorAll<HTMLElement>(`[part~="${name}"]`)];
}
const input = (el: NeuronOSChat) => part<HTMLTextAreaElement>(el, 'input')!;
const text = (node: Element | null | undefined) => (node?.textContent ?? '').replace(/\s+/g, ' ').trim();
function errorText(el: NeuronOSChat): string {
  const box = part(el, 'error');
  return box && !box.hidden ? text(box) : '';
}
const lastReply = (el: NeuronOSChat) => parts(el, 'message-assistant').at(-1)!;
/** The step blocks of the last reply. */
const steps = (el: NeuronOSChat) => parts(lastReply(el), 'step') as HTMLDetailsElement[];
const summary = (step: HTMLElement) => text(part(step, 'step-summary'));

async function until(pred: () => unknown, message: string): Promise<void> {
  await waitUntil(pred, message, { timeout: WAIT_MS, interval: 5 });
}
function next<K extends EventName>(el: EventTarget, type: K, match: (d: Detail<K>) => boolean = () => true): Promise<Detail<K>> {
  return new Promise((resolve) => {
    const on = (e: Event) => {
      const d = (e as CustomEvent<Detail<K>>).detail;
      if (!match(d)) return;
      el.removeEventListener(type, on);
      resolve(d);
    };
    el.addEventListener(type, on);
  });
}
const replyEnded = (el: NeuronOSChat) => next(el, 'neuronos-message', (d) => d.role === 'assistant');
const fired = <K extends EventName>(type: K) => events.filter((e) => e.type === type).map((e) => e.detail as Detail<K>);

async function readyChat(attrs: Record<string, string> = {}): Promise<NeuronOSChat> {
  const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  await until(() => el.status === 'ready', 'the model should load');
  await el.updateComplete;
  return el;
}
const stream = (): FakeStream => backend.lastClient!.lastStream!;

const CALC_ARGS = { expression: '2+2' };
/** One calculator call, then the answer. */
const calcTurn = (extra: Partial<ReplyScript> = {}): ReplyScript => ({
  steps: [{ thought: ['I need ', 'to add.'], call: { tool: 'calculator', args: CALC_ARGS, result: 4 } }],
  answerThought: ['I have ', 'the result.'],
  pieces: ['The answer is ', '**4**.'],
  ...extra,
});

function emailTool(calls: Array<Record<string, unknown>>, extra: Partial<PageTool> = {}): PageTool {
  return {
    name: 'send_email',
    description: 'Sends an e-mail',
    parameters: { type: 'object', properties: { to: { type: 'string' }, subject: { type: 'string' } }, required: ['to'] },
    handler: (args) => {
      calls.push(args);
      return 'sent';
    },
    confirm: true,
    ...extra,
  };
}
const emailTurn = (): ReplyScript => ({
  steps: [{ thought: ['Sending it.'], call: { tool: 'send_email', args: { to: 'a@b.example', subject: 'Hi' } } }],
  pieces: ['Done.'],
});

/** Focus the text box, type, press Enter: a message sent with the keyboard. */
async function typeAndSend(el: NeuronOSChat, message: string): Promise<void> {
  input(el).focus();
  await sendKeys({ type: message });
  await sendKeys({ press: 'Enter' });
}

// --- tests ----------------------------------------------------------------------------------------

describe('<neuronos-chat> agent turns', () => {
  describe('steps', () => {
    it('shows each step as a collapsible block (thought, call with JSON arguments, result) above the answer; thoughts stream live', async () => {
      const el = await readyChat();
      backend.reply = () => {
        const s = calcTurn();
        s.steps![0]!.hold = true;
        return s;
      };
      const ended = replyEnded(el);
      void el.send('What is 2+2?');
      await until(() => backend.lastClient?.lastStream?.holding, 'the thought streamed, held before the call');
      await until(() => text(part(lastReply(el), 'step-thought')).includes('I need to add.'), 'the thought shows while it streams');
      let [first] = steps(el);
      expect(first!.localName).to.equal('details');
      expect(first!.open, 'a step in progress is open').to.equal(true);
      expect(summary(first!)).to.equal('Thinking…');
      expect(text(part(el, 'status'))).to.contain('Thinking…');
      stream().release();

      const detail = await ended;
      await el.updateComplete;
      const blocks = steps(el);
      expect(blocks, 'the tool step and the answer thought').to.have.length(2);
      [first] = blocks;
      expect(summary(first!)).to.equal('Used calculator');
      expect(first!.dataset['status']).to.equal('done');
      expect(first!.open, 'a finished step collapses').to.equal(false);
      expect(text(part(first!, 'step-thought'))).to.contain('I need to add.');
      const call = part(first!, 'step-call')!;
      expect(text(call)).to.contain('calculator');
      expect(call.querySelector('pre')!.textContent, 'arguments as formatted JSON').to.equal(JSON.stringify(CALC_ARGS, null, 2));
      expect(part(first!, 'step-result')!.querySelector('pre')!.textContent).to.equal('4');
      expect(summary(blocks[1]!)).to.equal('Reasoning');
      expect(text(part(blocks[1]!, 'step-thought'))).to.contain('I have the result.');

      // collapsible: the summary opens it
      part(first!, 'step-summary')!.click();
      await until(() => first!.open, 'opens on a click');

      // the steps come before the answer, which renders as Markdown
      const reply = lastReply(el);
      const stepsBox = part(reply, 'steps')!;
      const answer = reply.querySelector('.md')!;
      expect(stepsBox.compareDocumentPosition(answer) & Node.DOCUMENT_POSITION_FOLLOWING).to.not.equal(0);
      expect(answer.querySelector('strong')!.textContent).to.equal('4');
      expect(text(answer)).to.equal('The answer is 4.');

      // neuronos-step for each step part, neuronos-message with the trace
      const stepEvents = events.filter((e) => e.type === 'neuronos-step');
      expect(stepEvents.map((e) => (e.detail as AgentStepEvent).kind)).to.deep.equal(['action', 'observation', 'answer']);
      expect(stepEvents.every((e) => e.bubbles && e.composed)).to.equal(true);
      expect(stepEvents.map((e) => e.detail)).to.deep.equal(stream().steps);
      expect(detail.content).to.equal('The answer is **4**.');
      expect(detail.agentFinish).to.equal('answer');
      expect(detail.steps).to.have.length(3);
      expect(el.status).to.equal('ready');
    });

    it('neuronos-tool-call fires before every call; preventDefault() refuses it and the model goes on', async () => {
      const el = await readyChat();
      const seen: ToolCallRequest[] = [];
      el.addEventListener('neuronos-tool-call', (e) => {
        seen.push(e.detail);
        if (e.detail.tool === 'file_write') e.preventDefault();
      });
      backend.reply = () => ({
        steps: [
          { call: { tool: 'calculator', args: CALC_ARGS, result: 4 } },
          { thought: ['Save it.'], call: { tool: 'file_write', args: { path: 'a.txt', content: '4' }, result: 'ok' } },
        ],
        pieces: ['I could not save it.'],
      });
      await el.send('add and save');
      await el.updateComplete;
      expect(seen).to.deep.equal([
        { step: 0, tool: 'calculator', args: CALC_ARGS, confirm: false, source: 'builtin' },
        { step: 1, tool: 'file_write', args: { path: 'a.txt', content: '4' }, confirm: false, source: 'builtin' },
      ]);
      const toolEvents = events.filter((e) => e.type === 'neuronos-tool-call');
      expect(toolEvents.every((e) => e.bubbles && e.composed && e.cancelable)).to.equal(true);
      expect(stream().toolCalls.map((c) => c.allowed), 'the client sees true, then false').to.deep.equal([true, false]);
      const [, refused] = steps(el);
      expect(refused!.dataset['status']).to.equal('refused');
      expect(summary(refused!)).to.equal('Refused file_write');
      expect(text(part(refused!, 'step-result'))).to.contain('The page refused this call.');
      expect(fired('neuronos-step').map((d) => d.kind)).to.deep.equal(['action', 'observation', 'action', 'refused', 'answer']);
      expect(text(lastReply(el).querySelector('.md'))).to.equal('I could not save it.');
    });

    it('a failed tool, an invalid step and the step limit show as such, not as a crash; the element stays usable', async () => {
      const el = await readyChat();
      backend.reply = () => ({
        steps: [
          { call: { tool: 'calculator', args: { expression: '1/' }, error: 'syntax error at 2' } },
          { thought: ['Check the weather.'], invalid: "unknown tool 'weather'" },
        ],
        pieces: ['Sorry.'],
      });
      await el.send('hmm');
      await el.updateComplete;
      const [failed, invalid] = steps(el);
      expect(failed!.dataset['status']).to.equal('failed');
      expect(summary(failed!)).to.equal('calculator failed');
      expect(part(failed!, 'step-result')!.dataset['outcome']).to.equal('error');
      expect(text(part(failed!, 'step-result'))).to.contain('syntax error at 2');
      expect(invalid!.dataset['status']).to.equal('invalid');
      expect(summary(invalid!)).to.equal('Invalid step');
      expect(text(part(invalid!, 'step-result'))).to.contain("unknown tool 'weather'");
      expect(errorText(el), 'no error box for a step that failed').to.equal('');
      expect(fired('neuronos-error')).to.deep.equal([]);
      expect(el.status).to.equal('ready');

      backend.reply = () => ({ steps: [{ call: { tool: 'get_time', result: '12:00' } }], stepLimit: true, pieces: [] });
      const ended = replyEnded(el);
      await el.send('loop');
      expect((await ended).agentFinish).to.equal('step_limit');
      await el.updateComplete;
      expect(text(lastReply(el))).to.contain('Reached the step limit');

      backend.reply = () => ({ pieces: ['fine'] });
      await el.send('again');
      expect(text(lastReply(el))).to.contain('fine');
    });

    it('tool arguments, results, errors and thoughts are shown as text: hostile ones stay inert', async () => {
      const el = await readyChat();
      for (const p of XSS_CORPUS) {
        backend.reply = () => ({
          steps: [
            { thought: [p.payload.slice(0, 9), p.payload.slice(9)], call: { tool: 'calculator', args: { expression: p.payload }, result: p.payload } },
            { call: { tool: 'get_time', args: { x: p.payload }, error: p.payload } },
          ],
          pieces: ['ok'],
        });
        await el.send(p.name);
        await el.updateComplete;
        const box = part(lastReply(el), 'steps')!;
        const tags = new Set([...box.querySelectorAll('*')].map((n) => n.localName));
        for (const t of tags) expect(['details', 'summary', 'div', 'span', 'p', 'pre', 'code'], `${p.name}: <${t}>`).to.include(t);
        const [a, b] = steps(el);
        expect(part(a!, 'step-thought')!.querySelector('p')!.textContent, `${p.name}: thought as text`).to.equal(p.payload);
        expect(part(a!, 'step-result')!.querySelector('pre')!.textContent, `${p.name}: result as text`).to.equal(p.payload);
        expect(part(b!, 'step-result')!.querySelector('pre')!.textContent, `${p.name}: error as text`).to.equal(p.payload);
      }
      await aTimeout(200);
      expect(window.__xss, 'no payload ran').to.equal(undefined);
    });
  });

  describe('confirmation', () => {
    it('asks the visitor before a confirm: true page tool; keyboard only: focus moves to it, Tab+Enter allows, Escape denies, Tab+Tab+Space denies', async () => {
      const el = await readyChat();
      const calls: Array<Record<string, unknown>> = [];
      el.registerTool(emailTool(calls));
      backend.reply = emailTurn;

      // 1. Tab to Allow, Enter
      let ended = replyEnded(el);
      await typeAndSend(el, 'mail them');
      await until(() => part(el, 'confirm'), 'the question appears');
      const confirm = part(el, 'confirm')!;
      await until(() => root(el).activeElement === confirm, 'focus moves to the question');
      expect(confirm.getAttribute('role')).to.equal('alertdialog');
      expect(part(el, 'messages')!.getAttribute('aria-busy'), 'the log is not busy while it asks').to.equal('false');
      const question = root(el).getElementById(confirm.getAttribute('aria-labelledby')!)!;
      expect(text(question)).to.equal('Allow send_email with these arguments?');
      const args = root(el).getElementById(confirm.getAttribute('aria-describedby')!)!;
      expect(args.textContent).to.equal(JSON.stringify({ to: 'a@b.example', subject: 'Hi' }, null, 2));
      expect(text(part(el, 'status'))).to.contain('Waiting for your permission');
      expect(summary(steps(el)[0]!)).to.equal('Waiting for your permission to use send_email');
      expect(fired('neuronos-tool-call').at(-1)).to.deep.include({ tool: 'send_email', confirm: true, source: 'page' });
      expect(calls, 'nothing runs before the answer').to.have.length(0);
      await sendKeys({ press: 'Tab' });
      expect(root(el).activeElement).to.equal(part(el, 'allow-button'));
      await sendKeys({ press: 'Enter' });
      await ended;
      await el.updateComplete;
      expect(stream().toolCalls.map((c) => c.allowed)).to.deep.equal([true]);
      expect(calls).to.deep.equal([{ to: 'a@b.example', subject: 'Hi' }]);
      expect(part(el, 'confirm'), 'answered: the question is gone').to.equal(null);
      expect(summary(steps(el)[0]!)).to.equal('Used send_email');
      expect(text(part(steps(el)[0]!, 'step-result'))).to.contain('sent');
      expect(root(el).activeElement, 'focus back in the text box').to.equal(input(el));

      // 2. Escape denies; a later click on Allow changes nothing (answered once)
      ended = replyEnded(el);
      await typeAndSend(el, 'again');
      await until(() => part(el, 'confirm') && root(el).activeElement === part(el, 'confirm'), 'asked and focused');
      const staleAllow = part<HTMLButtonElement>(el, 'allow-button')!;
      await sendKeys({ press: 'Escape' });
      await ended;
      await el.updateComplete;
      staleAllow.click();
      await aTimeout(10);
      expect(stream().toolCalls.map((c) => c.allowed)).to.deep.equal([false]);
      expect(calls, 'the handler did not run').to.have.length(1);
      expect(summary(steps(el)[0]!)).to.equal('You denied send_email');
      expect(text(part(steps(el)[0]!, 'step-result'))).to.contain('You denied this call.');
      expect(el.status, 'Escape denied the call; it did not stop the reply').to.equal('ready');
      expect(lastReply(el).dataset['finish']).to.equal('eos');

      // 3. Tab, Tab to Deny, Space
      ended = replyEnded(el);
      await typeAndSend(el, 'once more');
      await until(() => part(el, 'confirm') && root(el).activeElement === part(el, 'confirm'), 'asked and focused');
      await sendKeys({ press: 'Tab' });
      await sendKeys({ press: 'Tab' });
      expect(root(el).activeElement).to.equal(part(el, 'deny-button'));
      await sendKeys({ press: 'Space' });
      await ended;
      expect(stream().toolCalls.map((c) => c.allowed)).to.deep.equal([false]);
      expect(calls).to.have.length(1);
      expect(root(el).activeElement).to.equal(input(el));
    });

    it('a page refusal (preventDefault) is final: the visitor is not asked', async () => {
      const el = await readyChat();
      el.registerTool(emailTool([]));
      el.addEventListener('neuronos-tool-call', (e) => e.preventDefault());
      backend.reply = emailTurn;
      await el.send('mail');
      await el.updateComplete;
      expect(part(el, 'confirm')).to.equal(null);
      expect(stream().toolCalls.map((c) => c.allowed)).to.deep.equal([false]);
      expect(summary(steps(el)[0]!)).to.equal('Refused send_email');
    });

    it('Stop during the confirmation ends the turn cleanly: the call is refused, the question goes, the element stays usable', async () => {
      const el = await readyChat();
      const calls: Array<Record<string, unknown>> = [];
      el.registerTool(emailTool(calls));
      backend.reply = emailTurn;
      const ended = replyEnded(el);
      void el.send('mail');
      await until(() => part(el, 'confirm') && root(el).activeElement === part(el, 'confirm'), 'asked and focused');
      part(el, 'stop-button')!.click();
      const detail = await ended;
      await el.updateComplete;
      expect(detail.finish).to.equal('aborted');
      expect(stream().abortCalls).to.equal(1);
      await until(() => stream().toolCalls[0]?.allowed === false, 'onToolCall resolved false');
      expect(calls).to.have.length(0);
      expect(part(el, 'confirm')).to.equal(null);
      const [step] = steps(el);
      expect(step!.dataset['status']).to.equal('stopped');
      expect(summary(step!)).to.equal('Stopped (send_email)');
      expect(text(part(step!, 'step-result'))).to.contain('stopped before you answered');
      expect(text(lastReply(el))).to.contain('Stopped');
      expect(el.status).to.equal('ready');
      expect(root(el).activeElement).to.equal(input(el));

      backend.reply = () => ({ pieces: ['still here'] });
      await el.send('hello');
      expect(text(lastReply(el))).to.contain('still here');
    });

    it('Stop (Escape in the text box) while a page tool runs ends the turn; the next message works', async () => {
      const el = await readyChat();
      let started = 0;
      el.registerTool({
        name: 'slow_lookup',
        description: 'Never answers',
        parameters: { type: 'object', properties: {} },
        handler: () => {
          started++;
          return new Promise(() => undefined);
        },
      });
      backend.reply = () => ({ steps: [{ call: { tool: 'slow_lookup' } }], pieces: ['never'] });
      const ended = replyEnded(el);
      void el.send('look it up');
      await until(() => started === 1, 'the handler runs');
      await el.updateComplete;
      expect(summary(steps(el)[0]!)).to.equal('Using slow_lookup…');
      expect(text(part(el, 'status'))).to.contain('Using slow_lookup…');
      input(el).focus();
      await sendKeys({ press: 'Escape' });
      expect((await ended).finish).to.equal('aborted');
      await el.updateComplete;
      expect(steps(el)[0]!.dataset['status']).to.equal('stopped');
      expect(el.status).to.equal('ready');
      backend.reply = () => ({ pieces: ['ok'] });
      await el.send('next');
      expect(text(lastReply(el))).to.contain('ok');
    });
  });

  describe('tools attribute', () => {
    it('parses names and groups, none and empty; each turn passes the current list to chat()', async () => {
      const el = await readyChat();
      backend.reply = () => calcTurn();
      const lastCall = () => backend.chatCalls.at(-1)!;

      await el.send('1');
      expect(el.tools, 'absent: all the built-ins').to.equal(undefined);
      expect(lastCall().opts.tools).to.equal(undefined);
      expect(lastCall().opts.maxSteps).to.equal(8);
      expect(lastCall().agent).to.equal(true);

      el.setAttribute('tools', 'calculator, memory  files,calculator');
      await el.send('2');
      expect(lastCall().opts.tools).to.deep.equal(['calculator', 'memory', 'files']);
      expect(el.tools).to.deep.equal(['calculator', 'memory', 'files']);

      el.setAttribute('tools', 'none');
      await el.send('3');
      expect(lastCall().opts.tools).to.deep.equal([]);
      expect(lastCall().agent, 'no tools and no page tools: a plain chat').to.equal(false);
      await el.updateComplete;
      expect(steps(el), 'a plain reply has no steps').to.have.length(0);
      expect(text(lastReply(el).querySelector('.md'))).to.equal('The answer is 4.');

      el.setAttribute('tools', '');
      await el.send('4');
      expect(lastCall().opts.tools).to.deep.equal([]);

      el.tools = ['GET_TIME', 'get_time'];
      await el.send('5');
      expect(lastCall().opts.tools).to.deep.equal(['get_time']);

      el.removeAttribute('tools');
      el.tools = undefined;
      el.setAttribute('max-steps', '3');
      await el.send('6');
      expect(lastCall().opts.tools).to.equal(undefined);
      expect(lastCall().opts.maxSteps).to.equal(3);
      expect(fired('neuronos-error')).to.deep.equal([]);
    });

    it('a change during a turn applies to the next turn', async () => {
      const el = await readyChat({ tools: 'calculator' });
      backend.reply = () => ({ ...calcTurn(), holdAfter: 1 });
      const ended = replyEnded(el);
      void el.send('first');
      await until(() => stream().holding, 'streaming the answer');
      el.setAttribute('tools', 'files');
      stream().release();
      await ended;
      backend.reply = () => calcTurn();
      await el.send('second');
      expect(backend.chatCalls.map((c) => c.opts.tools)).to.deep.equal([['calculator'], ['files']]);
    });

    it('unknown names are reported (visible, invalid_argument) and left out; a valid value clears the message', async () => {
      const el = await readyChat();
      const error = next(el, 'neuronos-error');
      el.setAttribute('tools', 'calculator weather');
      const d = await error;
      expect(d.code).to.equal('invalid_argument');
      expect(d.message).to.match(/^tools: unknown name 'weather', ignored/);
      await el.updateComplete;
      expect(errorText(el)).to.contain("unknown name 'weather'");
      expect(el.tools).to.deep.equal(['calculator']);
      await el.send('x');
      expect(backend.chatCalls.at(-1)!.opts.tools).to.deep.equal(['calculator']);
      el.setAttribute('tools', 'memory');
      await el.updateComplete;
      expect(errorText(el)).to.equal('');

      const clamp = next(el, 'neuronos-error');
      el.setAttribute('max-steps', '99');
      expect((await clamp).message).to.equal("max-steps must be a whole number between 1 and 32; got '99', using 32");
      expect(el.maxSteps).to.equal(32);
    });
  });

  describe('page tools', () => {
    const tool = (name: string, extra: Partial<PageTool> = {}): PageTool => ({
      name,
      description: `the ${name} tool`,
      parameters: { type: 'object', properties: { q: { type: 'string' } } },
      handler: () => name,
      ...extra,
    });
    function invalidArgument(fn: () => unknown): NeuronOSError {
      try {
        fn();
      } catch (e) {
        expect(e).to.be.instanceOf(NeuronOSError);
        expect((e as NeuronOSError).code).to.equal('invalid_argument');
        return e as NeuronOSError;
      }
      throw new Error('expected an invalid_argument error');
    }

    it('registerTool before the client exists: checked at once (the whole schema), kept, registered when the client is created', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      el.registerTool(tool('lookup'));
      invalidArgument(() => el.registerTool(tool('bad_schema', { parameters: { type: 'array' } as unknown as PageTool['parameters'] })));
      expect(backend.factoryCalls, 'no client yet').to.have.length(0);
      invalidArgument(() => el.registerTool(tool('lookup')));
      invalidArgument(() => el.registerTool(tool('calculator')));
      invalidArgument(() => el.registerTool(tool('Bad-Name')));
      invalidArgument(() => el.registerTool({ ...tool('no_handler'), handler: undefined as unknown as PageTool['handler'] }));

      part(el, 'load-button')!.click();
      await until(() => el.status === 'ready', 'ready');
      await el.updateComplete;
      const client = backend.lastClient!;
      expect([...client.pageTools.keys()]).to.deep.equal(['lookup']);

      // a page tool makes tools="none" an agent turn
      el.setAttribute('tools', 'none');
      backend.reply = () => ({ steps: [{ call: { tool: 'lookup', args: { q: 'x' } } }], pieces: ['found'] });
      await el.send('find x');
      expect(backend.chatCalls.at(-1)!.agent).to.equal(true);
      await el.updateComplete;
      expect(summary(steps(el)[0]!)).to.equal('Used lookup');
      expect(text(part(steps(el)[0]!, 'step-result'))).to.contain('lookup');
    });

    it('registerTool after the client exists: checked by the client at once; unregisterTool; kept for the next client', async () => {
      const el = await readyChat();
      const client = backend.lastClient!;
      el.registerTool(tool('lookup'));
      expect(client.pageTools.has('lookup')).to.equal(true);
      const err = invalidArgument(() => el.registerTool(tool('bad_schema', { parameters: { type: 'object' } as unknown as PageTool['parameters'] })));
      expect(err.message).to.contain('parameters');
      invalidArgument(() => el.registerTool(tool('lookup')));
      expect(client.pageTools.has('bad_schema')).to.equal(false);
      el.registerTool(tool('other'));
      expect(el.unregisterTool('other')).to.equal(true);
      expect(el.unregisterTool('other')).to.equal(false);
      expect([...client.pageTools.keys()]).to.deep.equal(['lookup']);

      // a worker crash and restart keeps them
      backend.crashNextChat = true;
      const recovered = next(el, 'neuronos-ready');
      void el.send('boom');
      await recovered;
      expect(client.restartCalls).to.equal(1);
      expect([...client.pageTools.keys()]).to.deep.equal(['lookup']);

      // a new element life (removed and added again) registers them on its new client
      const parent = el.parentNode!;
      el.remove();
      await aTimeout(0);
      parent.appendChild(el);
      await until(() => el.status === 'ready', 'loads again');
      expect(backend.lastClient).to.not.equal(client);
      expect([...backend.lastClient!.pageTools.keys()]).to.deep.equal(['lookup']);
      expect(fired('neuronos-error').map((d) => d.code)).to.deep.equal(['wasm_crashed']);
    });
  });

  describe('a client without the agent', () => {
    it('a client without registerTool gets plain chat options only; page tools are reported as unsupported', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL} tools="calculator"></neuronos-chat>`);
      el.registerTool({ name: 'lookup', description: 'd', parameters: { type: 'object', properties: {} }, handler: () => 1 });
      const factory = backend.factory;
      NeuronOSChat.clientFactory = async (o) => {
        const c = await factory(o);
        (c as { registerTool?: unknown }).registerTool = undefined;
        return c;
      };
      const error = next(el, 'neuronos-error');
      part(el, 'load-button')!.click();
      expect((await error).message).to.contain("The page tool 'lookup' was not registered");
      await until(() => el.status === 'ready', 'ready');
      await el.send('hi');
      expect(Object.keys(backend.chatCalls.at(-1)!.opts).sort()).to.deep.equal(['maxTokens', 'temperature']);
      let code = '';
      try {
        el.registerTool({ name: 'other', description: 'd', parameters: { type: 'object', properties: {} }, handler: () => 1 });
      } catch (e) {
        code = (e as NeuronOSError).code;
      }
      expect(code).to.equal('unsupported');
    });
  });

  describe('styling and accessibility', () => {
    async function conversationWithSteps(): Promise<NeuronOSChat> {
      const el = await readyChat();
      el.registerTool(emailTool([]));
      el.addEventListener('neuronos-tool-call', (e) => {
        if (e.detail.tool === 'file_write') e.preventDefault();
      });
      backend.reply = () => ({
        steps: [
          { thought: ['Add first.'], call: { tool: 'calculator', args: CALC_ARGS, result: 4 } },
          { call: { tool: 'file_write', args: { path: 'x' }, result: 'ok' } },
          { call: { tool: 'get_time', error: 'clock unavailable' } },
          { invalid: 'cut off' },
        ],
        answerThought: ['Answering.'],
        pieces: ['## Result\n\nIt is **4**.'],
      });
      await el.send('first');
      for (const s of steps(el).slice(0, 2)) s.open = true; // open and closed blocks both
      backend.reply = emailTurn;
      void el.send('mail');
      await until(() => part(el, 'confirm') && root(el).activeElement === part(el, 'confirm'), 'a pending question');
      await el.updateComplete;
      return el;
    }

    it('passes axe with steps (done, refused, failed, invalid) and a pending confirmation, light and dark', async () => {
      let el = await conversationWithSteps();
      await expect(el).to.be.accessible();
      el.stop();
      await emulateMedia({ colorScheme: 'dark' });
      el = await conversationWithSteps();
      await expect(el).to.be.accessible();
      el.stop();
    });

    it('exposes the step parts and custom properties', async () => {
      const el = await conversationWithSteps();
      for (const name of ['steps', 'step', 'step-summary', 'step-thought', 'step-call', 'step-result', 'confirm', 'allow-button', 'deny-button']) {
        expect(part(el, name), name).to.not.equal(null);
      }
      el.style.setProperty('--neuronos-step-bg', 'rgb(1, 2, 3)');
      el.style.setProperty('--neuronos-confirm-bg', 'rgb(4, 5, 6)');
      expect(getComputedStyle(part(el, 'step')!).backgroundColor).to.equal('rgb(1, 2, 3)');
      expect(getComputedStyle(part(el, 'confirm')!).backgroundColor).to.equal('rgb(4, 5, 6)');
      const style = document.createElement('style');
      style.textContent = 'neuronos-chat::part(step-summary) { color: rgb(0, 128, 0); }';
      document.head.appendChild(style);
      try {
        expect(getComputedStyle(part(el, 'step-summary')!).color).to.equal('rgb(0, 128, 0)');
      } finally {
        style.remove();
        el.stop();
      }
    });
  });
});
