// End-to-end harness: our playground server(s) on loopback + Debian's Chromium through
// Playwright. Each test file starts what it needs and stops it in `after`.
import { chromium, type Browser, type Page } from 'playwright-core';
import { after, before } from 'node:test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../build/chromium.mjs';
import { manifest } from '../node/helpers.js';

export const TIMEOUT_MS = Number(process.env.NEURONOS_TEST_TIMEOUT_MS || 120_000);


export interface Server {
  url: string;
  stop(): Promise<void>;
}

/** Starts build/serve.mjs's server on a free port. */
export async function startServer(opts: { coi?: boolean; cspOrigins?: string[] } = {}): Promise<Server> {
  // @ts-expect-error plain JS module
  const { serve } = (await import('../../build/serve.mjs')) as { serve: (o: object) => Promise<{ server: { address(): { port: number } }; stop(): Promise<void> }> };
  const s = await serve({ port: 0, coi: opts.coi ?? true, cspOrigins: opts.cspOrigins ?? [] });
  const port = s.server.address().port;
  return { url: `http://127.0.0.1:${port}`, stop: () => s.stop() };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface PageLog {
  console: string[];
  errors: string[];
  cspViolations: string[];
  /** "METHOD url" of every request the page made. */
  requests: string[];
}

/** Opens a page and records console output, page errors and CSP violations; `beforeGoto` runs
 *  on the new page before it navigates (e.g. to route requests). */
export async function open(browser: Browser, url: string, beforeGoto?: (page: Page) => Promise<unknown>): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  await beforeGoto?.(page);
  const log: PageLog = { console: [], errors: [], cspViolations: [], requests: [] };
  page.on('console', (m) => {
    log.console.push(m.text());
    if (/Content Security Policy|Refused to/.test(m.text())) log.cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(e.message));
  page.on('request', (r) => log.requests.push(`${r.method()} ${r.url()}`));
  page.setDefaultTimeout(TIMEOUT_MS);
  // tsx (esbuild keepNames) wraps named functions in test code with __name(); functions passed
  // to page.evaluate run in the page, which needs the helper too
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(url);
  return { page, log };
}

export const script = (): string => manifest('scripted').script as string;

/** One browser and two playground servers (isolated and not) for a test file's tests. */
export function useBrowserAndServers(): { browser: () => Browser; isolated: () => Server; plain: () => Server } {
  let browser: Browser;
  let isolated: Server;
  let plain: Server;
  before(async () => {
    browser = await launch();
    isolated = await startServer({ coi: true });
    plain = await startServer({ coi: false });
  });
  after(async () => {
    await browser?.close();
    await isolated?.stop();
    await plain?.stop();
  });
  return { browser: () => browser, isolated: () => isolated, plain: () => plain };
}
