/**
 * <neuronos-chat> persistent memory in headless Chromium, against the fake client's memory
 * (test/browser/fake-client.ts: FakeMemory, stored per agent on the backend).
 * No timing assertions: every wait is "until this state is reached" with a generous limit.
 */
import { aTimeout, expect, fixture, html, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import '../../components/neuronos-chat/define.js';
import { NeuronOSChat, type MemoryItem, type NeuronOSChatEventMap } from '../../components/neuronos-chat/neuronos-chat.js';
import { DEFAULT_CORE, FakeBackend, MEMORY_EXPORT_FORMAT, type FakeMemory } from './fake-client.js';
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
const EVENT_NAMES: EventName[] = ['neuronos-memory', 'neuronos-notice', 'neuronos-error', 'neuronos-message'];

let backend: FakeBackend;
let events: Array<{ type: EventName; detail: unknown; bubbles: boolean; composed: boolean }> = [];
const recordEvent = (e: Event) => events.push({ type: e.type as EventName, detail: (e as CustomEvent).detail, bubbles: e.bubbles, composed: e.composed });

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
const text = (node: Element | null | undefined) => (node?.textContent ?? '').replace(/\s+/g, ' ').trim();
const active = (el: NeuronOSChat) => root(el).activeElement as HTMLElement | null;

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
const fired = <K extends EventName>(type: K) => events.filter((e) => e.type === type).map((e) => e.detail as Detail<K>);
const memoryEvents = (action: string) => fired('neuronos-memory').filter((d) => d.action === action);

async function readyChat(attrs: Record<string, string> = {}): Promise<NeuronOSChat> {
  const el = document.createElement('neuronos-chat');
  el.setAttribute('load', 'eager');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.setAttribute('model', MODEL);
  await fixture(el);
  await until(() => el.status === 'ready', 'the model should load');
  await until(() => el.memoryInfo, 'the memory should be open');
  await el.updateComplete;
  return el;
}
const memory = (): FakeMemory => backend.lastClient!.memory!;

/** What the tests remember: two core blocks, two facts, two past messages. */
function seed(agent = 'default'): void {
  backend.seedMemory(agent, {
    core: [{ label: 'human', text: 'The visitor is called Ada.' }],
    archival: [
      { text: 'Ada prefers tea over coffee.', tags: ['food', 'preference'], time: 1_700_000_000 },
      { text: 'Ada lives in Lisbon.', tags: ['place'], time: 1_700_000_100 },
    ],
    recall: [
      { role: 'user', text: 'Hello, I am Ada.', time: 1_700_000_000 },
      { role: 'assistant', text: 'Nice to meet you, Ada!', time: 1_700_000_001 },
    ],
  });
}

const panel = (el: NeuronOSChat) => part(el, 'memory-panel');
const tier = (el: NeuronOSChat, name: string) => root(el).querySelector<HTMLElement>(`[part~="memory-tier"][data-tier="${name}"]`)!;
const items = (scope: HTMLElement) => parts(scope, 'memory-item');
const itemTexts = (scope: HTMLElement) => items(scope).map((i) => text(i.querySelector('.memory-text')));
const deleteButton = (item: HTMLElement) => part<HTMLButtonElement>(item, 'memory-delete-button')!;
function itemWith(el: NeuronOSChat, needle: string, scope: HTMLElement = panel(el)!): HTMLElement {
  const found = items(scope).find((i) => text(i).includes(needle));
  if (!found) throw new Error(`no memory item with ${needle}`);
  return found;
}

/** Clicks Memory and waits until the panel shows what is remembered. */
async function openPanel(el: NeuronOSChat): Promise<HTMLElement> {
  part(el, 'memory-button')!.click();
  await until(() => part(el, 'memory-counts') && panel(el)?.getAttribute('aria-busy') === 'false', 'the memory panel should load');
  await el.updateComplete;
  return panel(el)!;
}

/** A file chosen in the panel's (hidden) file input. */
function chooseFile(el: NeuronOSChat, name: string, content: string): void {
  const input = root(el).querySelector<HTMLInputElement>('input[type="file"]')!;
  const dt = new DataTransfer();
  dt.items.add(new File([content], name, { type: 'application/json' }));
  input.files = dt.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

// --- tests ----------------------------------------------------------------------------------------

describe('<neuronos-chat> memory', () => {
  describe('the memory attribute', () => {
    it('opens the memory named by `memory` (default "default") when the client starts, and passes it to chat()', async () => {
      const el = await readyChat();
      expect(el.memory).to.equal('default');
      expect(memory().callsOf('open')).to.deep.equal([['default', { persist: true }]]);
      expect(el.memoryInfo).to.deep.equal({ agent: 'default', persistent: true });
      const [open] = events.filter((e) => e.type === 'neuronos-memory');
      expect(open!.bubbles && open!.composed).to.equal(true);
      expect(open!.detail).to.deep.equal({ action: 'open', agent: 'default', persistent: true });
      await el.send('hi');
      expect(backend.chatCalls.at(-1)!.opts.agent).to.equal('default');
      expect(text(part(el, 'memory-button'))).to.equal('Memory');
      expect(part(el, 'memory-notice')).to.equal(null);

      const named = await readyChat({ memory: 'shop-helper_2' });
      expect(memory().callsOf('open')).to.deep.equal([['shop-helper_2', { persist: true }]]);
      await named.send('hello');
      expect(backend.chatCalls.at(-1)!.opts.agent).to.equal('shop-helper_2');
    });

    it('memory="off": opened with persist: false, and the button and the panel say so', async () => {
      const el = await readyChat({ memory: 'off' });
      expect(el.memory).to.equal('off');
      expect(memory().callsOf('open')).to.deep.equal([['default', { persist: false }]]);
      expect(el.memoryInfo!.persistent).to.equal(false);
      expect(text(part(el, 'memory-button'))).to.equal('Memory · off');
      const p = await openPanel(el);
      expect(text(p)).to.contain('Memory is off');
      expect(text(p)).to.contain('forgotten when the page closes');
      await el.send('hi');
      expect(backend.chatCalls.at(-1)!.opts.agent).to.equal('default');
    });

    it('a change opens the new memory and starts a new conversation; an invalid name is refused and changes nothing', async () => {
      seed('alice');
      const el = await readyChat();
      await el.send('hi');
      expect(parts(el, 'message')).to.have.length(2);
      const opened = next(el, 'neuronos-memory', (d) => d.action === 'open' && d.agent === 'alice');
      el.setAttribute('memory', 'alice');
      await opened;
      await el.updateComplete;
      expect(memory().callsOf('open').map((a) => a[0])).to.deep.equal(['default', 'alice']);
      expect(parts(el, 'message'), 'a new conversation').to.have.length(0);
      expect(backend.lastClient!.resetCalls).to.equal(1);
      expect(backend.clients, 'the same client').to.have.length(1);
      expect(el.status).to.equal('ready');
      const p = await openPanel(el);
      expect(itemTexts(tier(el, 'archival'))).to.include('Ada lives in Lisbon.');
      expect(text(p)).to.contain('memory “alice”');

      el.setAttribute('memory', '../etc/passwd');
      await el.updateComplete;
      expect(el.memory, 'the value stays').to.equal('alice');
      expect(fired('neuronos-error').at(-1)).to.deep.include({ code: 'invalid_argument' });
      expect(text(part(el, 'error'))).to.contain('memory must be a name');
      el.setAttribute('memory', 'x'.repeat(65));
      await el.updateComplete;
      expect(el.memory).to.equal('alice');
      await aTimeout(20);
      expect(memory().callsOf('open'), 'not reopened').to.have.length(2);

      el.setAttribute('memory', 'OFF');
      await until(() => memory().callsOf('open').length === 3, 'reopened in RAM');
      expect(memory().callsOf('open')[2]).to.deep.equal(['default', { persist: false }]);
      expect(part(el, 'error')!.hidden, 'the error went with the invalid value').to.equal(true);
    });

    it("shows the memory's notice (another tab has it: it runs in RAM) and fires neuronos-notice", async () => {
      backend.memoryNotice = { code: 'memory_locked', message: 'Another tab has this memory open: this chat remembers only until the page closes.' };
      const notice = next(document, 'neuronos-notice');
      const el = await readyChat();
      expect(await notice).to.deep.equal(backend.memoryNotice);
      expect(text(part(el, 'memory-notice'))).to.equal(backend.memoryNotice.message);
      expect(part(el, 'memory-notice')!.checkVisibility()).to.equal(true);
      expect(text(part(el, 'memory-button'))).to.equal('Memory · not saved');
      expect(memoryEvents('open')[0]).to.deep.equal({ action: 'open', agent: 'default', persistent: false, notice: backend.memoryNotice });
      const p = await openPanel(el);
      expect(text(p)).to.contain('Not saved');
      expect(text(p)).to.contain('Another tab has this memory open');
    });

    it('a memory that cannot be opened is reported; the chat still works', async () => {
      backend.memoryFail.open = 'quota_exceeded';
      const error = next(document, 'neuronos-error');
      const chat = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
      expect((await error).code).to.equal('quota_exceeded');
      await until(() => chat.status === 'ready' && part(chat, 'memory-notice'), 'ready, with the notice');
      expect(chat.memoryInfo).to.equal(null);
      expect(text(part(chat, 'memory-notice'))).to.contain('The memory could not be opened');
      await chat.send('still here?');
      expect(backend.chatCalls).to.have.length(1);
      // the panel tries again
      backend.memoryFail = {};
      await openPanel(chat);
      expect(chat.memoryInfo).to.deep.equal({ agent: 'default', persistent: true });
      expect(part(chat, 'memory-notice'), 'the notice went').to.equal(null);
    });

    it('after a crash the restarted client opens the memory again', async () => {
      const el = await readyChat({ memory: 'notes' });
      backend.crashNextChat = true;
      await el.send('crash');
      await until(() => el.status === 'ready' && backend.lastClient!.restartCalls === 1, 'recovered');
      await until(() => memory().callsOf('open').length === 2, 'reopened');
      expect(memory().callsOf('open')[1]).to.deep.equal(['notes', { persist: true }]);
    });

    it('a client without memory: no Memory button, the chat works', async () => {
      const factory = backend.factory;
      NeuronOSChat.clientFactory = async (o) => {
        const c = await factory(o);
        (c as { memory?: unknown }).memory = undefined;
        return c;
      };
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
      await until(() => el.status === 'ready', 'ready');
      await el.updateComplete;
      expect(part(el, 'memory-button')).to.equal(null);
      await el.send('hi');
      expect(fired('neuronos-memory')).to.have.length(0);
    });

    it('the panel works before any model is loaded (load="click"): it starts the engine, not the download', async () => {
      seed();
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      const p = await openPanel(el);
      expect(backend.loadCalls, 'no model download').to.have.length(0);
      expect(el.status).to.equal('idle');
      expect(itemTexts(p)).to.include('Ada prefers tea over coffee.');
      // the Load button then uses the same client
      part(el, 'load-button')!.click();
      await until(() => el.status === 'ready', 'ready');
      expect(backend.clients).to.have.length(1);
      expect(memory().callsOf('open')).to.have.length(1);
    });
  });

  describe('the panel', () => {
    it('shows what is remembered by tier, with counts from stats(); focus moves in and Escape brings it back', async () => {
      seed();
      const el = await readyChat();
      const button = part<HTMLButtonElement>(el, 'memory-button')!;
      expect(button.getAttribute('aria-expanded')).to.equal('false');
      button.focus();
      const p = await openPanel(el);
      expect(button.getAttribute('aria-expanded')).to.equal('true');
      expect(button.getAttribute('aria-controls')).to.equal(p.id);
      expect(p.getAttribute('role')).to.equal('dialog');
      expect(root(el).getElementById(p.getAttribute('aria-labelledby')!)!.textContent).to.equal('Memory');
      await until(() => active(el) === p, 'focus moves into the panel');
      expect(text(p)).to.contain('Stored in this browser, on this device only');

      expect(text(part(el, 'memory-counts'))).to.equal('2 core blocks · 2 facts · 2 past messages');
      expect(memory().callsOf('stats').length).to.be.at.least(1);

      const core = tier(el, 'core');
      expect(text(core.querySelector('h3'))).to.equal('Core memory (2)');
      expect(items(core).map((i) => text(i.querySelector('.memory-item-label')))).to.deep.equal(['persona', 'human']);
      expect(itemTexts(core)).to.deep.equal([DEFAULT_CORE[0]!.text, 'The visitor is called Ada.']);

      const facts = tier(el, 'archival');
      expect(text(facts.querySelector('h3'))).to.equal('Facts (2)');
      expect(itemTexts(facts)).to.deep.equal(['Ada prefers tea over coffee.', 'Ada lives in Lisbon.']);
      const tea = items(facts)[0]!;
      expect(text(tea.querySelector('.memory-tags'))).to.equal('Tags: food, preference');
      expect(tea.querySelector('time')!.getAttribute('datetime')).to.equal('2023-11-14T22:13:20.000Z');

      const recall = tier(el, 'recall');
      expect(text(recall.querySelector('h3'))).to.equal('Conversation history (2)');
      expect(itemTexts(recall), 'latest first').to.deep.equal(['Nice to meet you, Ada!', 'Hello, I am Ada.']);
      expect(items(recall).map((i) => text(i.querySelector('.memory-item-label')))).to.deep.equal(['Assistant', 'You']);
      expect(part(el, 'memory-more-button'), 'everything is shown').to.equal(null);

      // Escape inside the panel closes it; focus returns to the Memory button
      deleteButton(tea).focus();
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(panel(el)).to.equal(null);
      await until(() => active(el) === button, 'focus back on Memory');
      expect(button.getAttribute('aria-expanded')).to.equal('false');
      expect(el.status, 'Escape in the panel is not Stop').to.equal('ready');

      // Enter on the button opens it again; Close closes it
      await sendKeys({ press: 'Enter' });
      await until(() => panel(el) && active(el) === panel(el), 'opened by keyboard');
      part(el, 'memory-close-button')!.click();
      await el.updateComplete;
      expect(panel(el)).to.equal(null);
      await until(() => active(el) === button, 'focus back on Memory after Close');
    });

    it('conversation history shows the latest 20, then "Show more"', async () => {
      backend.seedMemory('default', { recall: Array.from({ length: 27 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', text: `message ${i + 1}`, time: 1_700_000_000 + i })) });
      const el = await readyChat();
      await openPanel(el);
      const recall = tier(el, 'recall');
      expect(text(recall.querySelector('h3'))).to.equal('Conversation history (27)');
      expect(items(recall)).to.have.length(20);
      expect(itemTexts(recall)[0]).to.equal('message 27');
      const more = part<HTMLButtonElement>(recall, 'memory-more-button')!;
      expect(text(more)).to.equal('Show more conversation history');
      more.focus();
      await sendKeys({ press: 'Enter' });
      await until(() => items(tier(el, 'recall')).length === 27, 'the rest');
      expect(itemTexts(tier(el, 'recall')).at(-1)).to.equal('message 1');
      expect(memory().callsOf('list').filter((a) => a[0] === 'recall').at(-1)).to.deep.equal(['recall', { offset: 20, limit: 20 }]);
      await el.updateComplete;
      expect(part(tier(el, 'recall'), 'memory-more-button')).to.equal(null);
      await until(() => active(el) === deleteButton(itemWith(el, 'message 7')), 'focus on the first item shown');
    });

    it('deletes one item with the keyboard: its button names it, it disappears, the client is called, focus moves on', async () => {
      seed();
      const el = await readyChat();
      await openPanel(el);
      const tea = itemWith(el, 'Ada prefers tea');
      const button = deleteButton(tea);
      expect(text(button)).to.equal('Delete fact: Ada prefers tea over coffee.');
      expect(text(deleteButton(itemWith(el, 'called Ada')))).to.equal('Delete core block “human”');
      expect(text(deleteButton(itemWith(el, 'Hello, I am Ada')))).to.equal('Delete message: Hello, I am Ada.');
      const id = backend.memoryOf('default').archival[0]!.id;

      button.focus();
      const deleted = next(el, 'neuronos-memory', (d) => d.action === 'delete');
      await sendKeys({ press: 'Enter' });
      expect(await deleted).to.deep.equal({ action: 'delete', agent: 'default', tier: 'archival', id });
      await el.updateComplete;
      expect(memory().callsOf('delete')).to.deep.equal([['archival', id]]);
      expect(itemTexts(tier(el, 'archival'))).to.deep.equal(['Ada lives in Lisbon.']);
      expect(backend.memoryOf('default').archival.map((i) => i.text)).to.deep.equal(['Ada lives in Lisbon.']);
      await until(() => text(tier(el, 'archival').querySelector('h3')) === 'Facts (1)', 'the count follows');
      await until(() => active(el) === deleteButton(itemWith(el, 'Lisbon')), 'focus on the next item');

      // Space deletes too; the last item of a tier hands focus to its heading
      await sendKeys({ press: 'Space' });
      await until(() => items(tier(el, 'archival')).length === 0, 'deleted');
      expect(text(tier(el, 'archival'))).to.contain('No facts saved.');
      await until(() => active(el) === tier(el, 'archival').querySelector('h3'), 'focus on the heading');
      expect(text(part(el, 'memory-counts'))).to.equal('2 core blocks · 0 facts · 2 past messages');

      // a core block is deleted by its label
      deleteButton(itemWith(el, 'called Ada')).click();
      await until(() => memory().callsOf('delete').length === 3, 'core delete');
      expect(memory().callsOf('delete')[2]).to.deep.equal(['core', 'human']);
    });

    it('a failed delete keeps the item and says why', async () => {
      seed();
      const el = await readyChat();
      await openPanel(el);
      backend.memoryFail.delete = 'quota_exceeded';
      const error = next(el, 'neuronos-error');
      deleteButton(itemWith(el, 'Lisbon')).click();
      expect((await error).code).to.equal('quota_exceeded');
      await el.updateComplete;
      expect(text(part(el, 'memory-error'))).to.contain('Could not delete the fact: Ada lives in Lisbon.');
      expect(itemTexts(tier(el, 'archival'))).to.include('Ada lives in Lisbon.');
      expect(deleteButton(itemWith(el, 'Lisbon')).disabled).to.equal(false);
    });

    it('searches the memory (memory.search) and deletes from the results', async () => {
      seed();
      const el = await readyChat();
      await openPanel(el);
      const box = root(el).querySelector<HTMLInputElement>('[part~="memory-search"] input[type="search"]')!;
      expect(box.labels![0]!.textContent).to.equal('Search memory');
      box.focus();
      await sendKeys({ type: 'ada' });
      await sendKeys({ press: 'Enter' });
      await until(() => part(el, 'memory-results'), 'results');
      expect(memory().callsOf('search')).to.deep.equal([['ada', { limit: 50 }]]);
      const results = part(el, 'memory-results')!;
      expect(text(results.querySelector('h3'))).to.equal('Results for “ada” (5)');
      expect(part(el, 'memory-tier'), 'the tiers make room for the results').to.equal(null);
      expect(items(results).map((i) => text(i.querySelector('.memory-item-label')))).to.deep.equal([
        'Core · human',
        'Fact',
        'Fact',
        'Message · Assistant',
        'Message · You',
      ]);

      deleteButton(itemWith(el, 'Lisbon', results)).click();
      await until(() => items(part(el, 'memory-results')!).length === 4, 'gone from the results');
      expect(memory().callsOf('delete')[0]![0]).to.equal('archival');

      // nothing found
      box.value = 'zebra';
      box.dispatchEvent(new Event('input'));
      root(el).querySelector<HTMLButtonElement>('[part~="memory-search"] button[type="submit"]')!.click();
      await until(() => text(part(el, 'memory-results')).includes('Nothing found'), 'no results');

      // Escape in a non-empty box empties it (and does not close the panel); Clear search returns to the tiers
      box.focus();
      await sendKeys({ press: 'Escape' });
      await until(() => box.value === '' && !part(el, 'memory-results'), 'emptied');
      expect(panel(el)).to.not.equal(null);
      expect(itemTexts(tier(el, 'archival')), 'the deletion shows in the tiers too').to.deep.equal(['Ada prefers tea over coffee.']);
    });

    it('Export downloads a JSON file through a Blob URL and <a download>, and fires neuronos-memory', async () => {
      seed('notes');
      const el = await readyChat({ memory: 'notes' });
      await openPanel(el);
      const downloads: Array<{ href: string; name: string }> = [];
      const intercept = (e: Event) => {
        const a = e.composedPath()[0];
        if (a instanceof HTMLAnchorElement && a.hasAttribute('download')) {
          e.preventDefault();
          downloads.push({ href: a.href, name: a.download });
        }
      };
      window.addEventListener('click', intercept, true);
      try {
        const exported = next(el, 'neuronos-memory', (d) => d.action === 'export');
        part(el, 'memory-export-button')!.click();
        const detail = await exported;
        expect(downloads).to.have.length(1);
        const [dl] = downloads;
        expect(dl!.href).to.match(/^blob:/);
        expect(dl!.name).to.match(/^neuronos-memory-notes-\d{4}-\d{2}-\d{2}\.json$/);
        const res = await fetch(dl!.href);
        expect(res.headers.get('content-type')).to.equal('application/json');
        const doc = (await res.json()) as { format: string; version: number; agent: string; archival: MemoryItem[] };
        expect(doc.format).to.equal(MEMORY_EXPORT_FORMAT);
        expect(doc.version).to.equal(1);
        expect(doc.agent).to.equal('notes');
        expect(doc.archival.map((i) => i.text)).to.deep.equal(['Ada prefers tea over coffee.', 'Ada lives in Lisbon.']);
        expect(detail.action === 'export' && detail.document).to.deep.equal(doc);
        expect(detail.agent).to.equal('notes');
        expect(memory().callsOf('export')).to.have.length(1);
        expect(root(el).querySelector('a[download]'), 'the link is gone').to.equal(null);
      } finally {
        window.removeEventListener('click', intercept, true);
      }
    });

    it('Import reads a .json file and asks: Replace or Merge; both reach the client', async () => {
      seed();
      const el = await readyChat();
      await openPanel(el);
      const fileInput = root(el).querySelector<HTMLInputElement>('input[type="file"]')!;
      expect(fileInput.accept).to.contain('.json');
      expect(fileInput.labels![0]!.textContent).to.equal('Memory file to import');
      let picked = 0;
      fileInput.click = () => void picked++;
      part(el, 'memory-import-button')!.click();
      expect(picked, 'Import… opens the file chooser').to.equal(1);

      const doc = {
        format: MEMORY_EXPORT_FORMAT,
        version: 1,
        agent: 'other',
        core: [{ tier: 'core', id: 'human', label: 'human', text: 'The visitor is called Grace.' }],
        archival: [{ tier: 'archival', id: 1, text: 'Grace writes compilers.', tags: ['work'] }],
        recall: [],
      };
      chooseFile(el, 'grace.json', JSON.stringify(doc));
      await until(() => part(el, 'memory-import-choice'), 'the question');
      const choice = part(el, 'memory-import-choice')!;
      expect(choice.getAttribute('role')).to.equal('alertdialog');
      expect(text(choice)).to.contain('Import grace.json?');
      await until(() => active(el) === choice, 'focus on the question');
      expect(memory().callsOf('import'), 'nothing imported before the answer').to.have.length(0);

      // Merge, by keyboard
      await sendKeys({ press: 'Tab' });
      await sendKeys({ press: 'Tab' });
      expect(active(el)).to.equal(part(el, 'memory-import-merge'));
      const merged = next(el, 'neuronos-memory', (d) => d.action === 'import');
      await sendKeys({ press: 'Enter' });
      expect(await merged).to.deep.equal({ action: 'import', agent: 'default', mode: 'merge' });
      expect(memory().callsOf('import')).to.deep.equal([[doc, { mode: 'merge' }]]);
      await until(() => itemTexts(tier(el, 'archival')).includes('Grace writes compilers.'), 'merged facts listed');
      expect(itemTexts(tier(el, 'archival'))).to.include('Ada lives in Lisbon.');
      expect(part(el, 'memory-import-choice')).to.equal(null);
      await until(() => active(el) === part(el, 'memory-import-button'), 'focus back on Import…');

      // Replace
      chooseFile(el, 'grace.json', JSON.stringify(doc));
      await until(() => part(el, 'memory-import-replace'), 'asked again');
      part(el, 'memory-import-replace')!.click();
      await until(() => memory().callsOf('import').length === 2, 'replace reached the client');
      expect(memory().callsOf('import')[1]![1]).to.deep.equal({ mode: 'replace' });
      await until(() => itemTexts(tier(el, 'archival')).join('|') === 'Grace writes compilers.', 'replaced');
      expect(memoryEvents('import').map((d) => d.action === 'import' && d.mode)).to.deep.equal(['merge', 'replace']);

      // Escape cancels the question; a file that is not JSON is refused with a message
      chooseFile(el, 'grace.json', JSON.stringify(doc));
      await until(() => part(el, 'memory-import-choice') && active(el) === part(el, 'memory-import-choice'), 'asked a third time');
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(part(el, 'memory-import-choice')).to.equal(null);
      expect(panel(el), 'Escape answered the question only').to.not.equal(null);
      expect(memory().callsOf('import')).to.have.length(2);
      chooseFile(el, 'notes.json', '{"oops":');
      await until(() => part(el, 'memory-error'), 'refused');
      expect(text(part(el, 'memory-error'))).to.contain('notes.json is not a memory export');
      expect(part(el, 'memory-import-choice')).to.equal(null);
    });

    it('Forget everything asks first (keyboard), then clears the memory and the conversation', async () => {
      seed();
      const el = await readyChat();
      await el.send('remember me');
      expect(parts(el, 'message')).to.have.length(2);
      await openPanel(el);
      const forget = part<HTMLButtonElement>(el, 'memory-forget-button')!;
      forget.focus();
      await sendKeys({ press: 'Enter' });
      await until(() => part(el, 'memory-forget-confirm'), 'the question');
      const confirm = part(el, 'memory-forget-confirm')!;
      expect(confirm.getAttribute('role')).to.equal('alertdialog');
      expect(text(confirm)).to.contain('Forget everything the assistant remembers?');
      expect(text(confirm)).to.contain('cannot be undone');
      await until(() => active(el) === confirm, 'focus on the question');
      expect(memory().callsOf('clear'), 'not before the answer').to.have.length(0);

      // Escape cancels, focus back on the button
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(part(el, 'memory-forget-confirm')).to.equal(null);
      expect(panel(el)).to.not.equal(null);
      await until(() => active(el) === forget, 'focus back on Forget everything');
      expect(memory().callsOf('clear')).to.have.length(0);

      // Cancel too
      await sendKeys({ press: 'Enter' });
      await until(() => part(el, 'memory-forget-confirm'), 'asked again');
      [...part(el, 'memory-forget-confirm')!.querySelectorAll('button')].find((b) => text(b) === 'Cancel')!.click();
      await el.updateComplete;
      expect(memory().callsOf('clear')).to.have.length(0);

      // and yes
      forget.focus();
      await sendKeys({ press: 'Space' });
      await until(() => active(el) === part(el, 'memory-forget-confirm'), 'asked a third time');
      await sendKeys({ press: 'Tab' });
      expect(active(el)).to.equal(part(el, 'memory-forget-yes'));
      const cleared = next(el, 'neuronos-memory', (d) => d.action === 'clear');
      await sendKeys({ press: 'Enter' });
      expect(await cleared).to.deep.equal({ action: 'clear', agent: 'default' });
      expect(memory().callsOf('clear')).to.have.length(1);
      await el.updateComplete;
      expect(parts(el, 'message'), 'the conversation view is cleared').to.have.length(0);
      expect(backend.lastClient!.resetCalls).to.equal(1);
      await until(() => text(part(el, 'memory-counts')) === '2 core blocks · 0 facts · 0 past messages', 'core back to its defaults');
      expect(itemTexts(tier(el, 'core'))).to.deep.equal(DEFAULT_CORE.map((b) => b.text));
      expect(part(el, 'memory-forget-confirm')).to.equal(null);
    });

    it('refreshes after a reply while it is open (the agent may have saved something)', async () => {
      const el = await readyChat();
      await openPanel(el);
      const lists = memory().callsOf('list').length;
      backend.reply = (m) => {
        backend.seedMemory('default', { archival: [{ text: `saved: ${m}` }] });
        return { pieces: ['ok'] };
      };
      await el.send('my cat is called Miso');
      await until(() => itemTexts(tier(el, 'archival')).includes('saved: my cat is called Miso'), 'the new fact shows');
      expect(memory().callsOf('list').length).to.be.greaterThan(lists);
    });
  });

  describe('accessibility', () => {
    it('passes axe with the panel open (lists, search results, questions), light and dark', async () => {
      seed();
      backend.seedMemory('default', { recall: Array.from({ length: 25 }, (_, i) => ({ role: 'user', text: `m${i}` })) });
      const el = await readyChat();
      await el.send('hello');
      await openPanel(el);
      await expect(el).to.be.accessible();

      part(el, 'memory-forget-button')!.click();
      await until(() => part(el, 'memory-forget-confirm'), 'forget question');
      await expect(el).to.be.accessible();
      part(el, 'memory-forget-confirm')!.querySelectorAll('button')[1]!.click();

      chooseFile(el, 'x.json', JSON.stringify({ format: MEMORY_EXPORT_FORMAT, version: 1 }));
      await until(() => part(el, 'memory-import-choice'), 'import question');
      await expect(el).to.be.accessible();

      const box = root(el).querySelector<HTMLInputElement>('input[type="search"]')!;
      box.value = 'Ada';
      box.dispatchEvent(new Event('input'));
      root(el).querySelector<HTMLButtonElement>('[part~="memory-search"] button[type="submit"]')!.click();
      await until(() => part(el, 'memory-results'), 'results');
      await expect(el).to.be.accessible();

      el.setAttribute('theme', 'dark');
      backend.memoryFail.delete = 'internal';
      deleteButton(items(part(el, 'memory-results')!)[0]!).click();
      await until(() => part(el, 'memory-error'), 'an error in the panel');
      await expect(el).to.be.accessible();
    });

    it('memory="off" with a notice passes axe; every control of the panel has a label', async () => {
      backend.memoryNotice = { code: 'opfs_unavailable', message: 'This browser cannot store the memory: it will not persist.' };
      const el = await readyChat();
      await openPanel(el);
      await expect(el).to.be.accessible();
      for (const f of root(el).querySelectorAll('input')) expect(f.labels?.length, f.id).to.equal(1);
      for (const b of root(el).querySelectorAll('button')) expect(text(b) || b.getAttribute('aria-label')).to.not.equal('');
      expect(root(el).querySelector('[part~="memory-search"]')!.getAttribute('role')).to.equal('search');
    });
  });

  describe('untrusted memory (XSS)', () => {
    it(`renders ${XSS_CORPUS.length} hostile memory items inert (texts, labels, tags, roles): text only`, async () => {
      backend.seedMemory('default', {
        core: XSS_CORPUS.slice(0, 5).map((p, i) => ({ label: `${p.payload}${i}`, text: p.payload })),
        archival: XSS_CORPUS.map((p) => ({ text: p.payload, tags: [p.payload, 'x'] })),
        recall: XSS_CORPUS.slice(0, 10).map((p) => ({ role: p.payload, text: p.payload })),
      });
      const el = await readyChat();
      await openPanel(el);
      for (let i = 0; i < 5; i++) {
        const more = part<HTMLButtonElement>(tier(el, 'archival'), 'memory-more-button');
        if (!more) break;
        const before = items(tier(el, 'archival')).length;
        more.click();
        await until(() => items(tier(el, 'archival')).length > before, 'more facts');
        await el.updateComplete;
      }
      const facts = items(tier(el, 'archival'));
      expect(facts).to.have.length(XSS_CORPUS.length);
      expect(itemTexts(tier(el, 'archival'))).to.deep.equal(XSS_CORPUS.map((p) => p.payload.replace(/\s+/g, ' ').trim()));
      const p = panel(el)!;
      for (const item of items(p)) {
        for (const node of item.querySelectorAll('*')) {
          expect(node.localName, `only the element's own markup in ${text(item).slice(0, 40)}`).to.be.oneOf(['div', 'span', 'p', 'time', 'button']);
          for (const attr of node.attributes) expect(attr.name.startsWith('on'), attr.name).to.equal(false);
        }
        for (const sel of ['.memory-text', '.memory-item-label', '.memory-tags']) {
          const n = item.querySelector(sel);
          if (n) expect(n.childElementCount, `${sel} holds text only`).to.equal(0);
        }
      }
      // search results and the export name the payload as text too
      const box = root(el).querySelector<HTMLInputElement>('input[type="search"]')!;
      box.value = '<img src=x onerror="window.__xss=1">';
      box.dispatchEvent(new Event('input'));
      root(el).querySelector<HTMLButtonElement>('[part~="memory-search"] button[type="submit"]')!.click();
      await until(() => part(el, 'memory-results'), 'results');
      expect(part(el, 'memory-results')!.querySelector('h3 img')).to.equal(null);
      expect(text(part(el, 'memory-results')!.querySelector('h3'))).to.contain('<img src=x onerror="window.__xss=1">');
      expect(root(el).querySelectorAll('script, img, iframe, svg, math, style, object, embed, a[href]')).to.have.length(0);
      await aTimeout(300);
      expect(window.__xss, 'no payload ran').to.equal(undefined);
    });
  });
});
