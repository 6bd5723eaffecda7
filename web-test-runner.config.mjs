// Browser tests (the <neuronos-chat> element) in headless Chromium through @web/test-runner.
//
//   npx wtr --config web-test-runner.config.mjs
//
// Uses the system Chromium (Debian's /usr/bin/chromium; override with NEURONOS_CHROMIUM), never a
// downloaded browser. Environment:
//   NEURONOS_TEST_TIMEOUT_MS   mocha timeout per test (default 20000; the machine is shared with
//                              compiles, so be generous); the browser/session timeouts scale with it
//   NEURONOS_CHROMIUM          path of the Chromium binary
//   NEURONOS_TEST_FILES        glob override (default test/browser/**/*.test.ts)
//
// Pages under /coi/ or with ?coi=1 get COOP/COEP headers (cross-origin isolated, for the threaded
// build); every other page is served without them.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './build/chromium.mjs';

const timeout = Number(process.env.NEURONOS_TEST_TIMEOUT_MS) > 0 ? Number(process.env.NEURONOS_TEST_TIMEOUT_MS) : 20_000;


/** COOP/COEP only for opted-in URLs. */
function crossOriginIsolation() {
  return async (ctx, next) => {
    await next();
    const url = ctx.url || '';
    if (url.startsWith('/coi/') || /[?&]coi=1(&|$)/.test(url)) {
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
      ctx.set('Cross-Origin-Embedder-Policy', 'require-corp');
      ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    }
  };
}

export default {
  files: process.env.NEURONOS_TEST_FILES || 'test/browser/**/*.test.ts',
  nodeResolve: true,
  concurrency: 1,
  concurrentBrowsers: 1,
  browserStartTimeout: Math.max(60_000, timeout * 3),
  testsStartTimeout: Math.max(60_000, timeout * 3),
  testsFinishTimeout: Math.max(300_000, timeout * 30),
  middleware: [crossOriginIsolation()],
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: './tsconfig.json' })],
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      concurrency: 1,
      launchOptions: {
        executablePath: process.env.NEURONOS_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
      },
    }),
  ],
  testFramework: {
    config: { timeout, ui: 'bdd' },
  },
};
