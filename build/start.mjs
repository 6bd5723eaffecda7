// `npm start`: installs what is missing, builds, generates the offline default model, serves
// the playground on localhost with COOP/COEP headers.
import { join } from 'node:path';
import { ROOT, log, run } from './lib.mjs';
import { setup } from './setup.mjs';

const t0 = Date.now();
try {
  setup();
  const { build } = await import('./build.mjs');
  build();
  run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/fixtures/make-fixtures.ts'), 'scripted', 'tiny-random'], { cwd: ROOT });
} catch (e) {
  console.error(`[neuronos] ${e.message}`);
  process.exit(1);
}
log(`ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const { serve } = await import('./serve.mjs');
const port = Number(process.env.PORT || 8080);
await serve({ port });
log(`playground: http://localhost:${port}/demo/   (Ctrl+C stops)`);
