// The playground server (`npm start`): @web/dev-server over the repo, with
//   - COOP/COEP headers (cross-origin isolation → the threaded WASM build), unless --no-coi,
//   - a strict Content-Security-Policy on the demo pages (no inline script, no eval),
//   - /models/<name>.gguf → the generated fixtures in .cache/fixtures (the offline default model).
//   node build/serve.mjs [--port 8080] [--no-coi] [--host 127.0.0.1]
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { FIXTURES, ROOT, log } from './lib.mjs';

/** The demo pages' policy; `extra` origins (a CDN serving dist/) are added to script/connect. */
export function csp(extra = []) {
  const more = extra.length ? ' ' + extra.join(' ') : '';
  return (
    `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'${more}; worker-src 'self' blob:${more}; ` +
    `connect-src 'self' blob: https://huggingface.co https://*.huggingface.co https://*.hf.co${more}; ` +
    `style-src 'self' 'unsafe-inline'; img-src 'self' data:`
  );
}

/** Koa middleware: cross-origin isolation headers, CSP on the demo pages, and CORS + CORP on
 * everything (as a CDN serving dist/ would send them). */
export function isolation(enabled, cspOrigins = []) {
  return async (ctx, next) => {
    await next();
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    ctx.set('Access-Control-Allow-Origin', '*');
    if (enabled) {
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
      ctx.set('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (ctx.path.startsWith('/demo/') || ctx.path === '/') ctx.set('Content-Security-Policy', csp(cspOrigins));
  };
}

/** Koa middleware: /models/* from the fixtures folder (with Range, as a model host would). */
export function models(dir = FIXTURES) {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/models/')) return next();
    const file = normalize(join(dir, decodeURIComponent(ctx.path.slice('/models/'.length))));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      ctx.status = 404;
      return;
    }
    const size = statSync(file).size;
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.type = 'application/octet-stream';
    const m = /^bytes=(\d+)-(\d*)$/.exec(ctx.get('range') || '');
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size || start > end) {
        ctx.status = 416;
        ctx.set('Content-Range', `bytes */${size}`);
        return;
      }
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${start}-${end}/${size}`);
      ctx.length = end - start + 1;
      ctx.body = createReadStream(file, { start, end });
    } else {
      ctx.length = size;
      ctx.body = createReadStream(file);
    }
  };
}

export async function serve({ port = 8080, host = '127.0.0.1', coi = true, cspOrigins = [] } = {}) {
  const { startDevServer } = await import('@web/dev-server');
  const server = await startDevServer({
    config: {
      rootDir: ROOT,
      port,
      hostname: host,
      nodeResolve: false,
      watch: false,
      middleware: [
        isolation(coi, cspOrigins),
        models(),
        (ctx, next) => {
          if (ctx.path === '/') ctx.redirect('/demo/');
          return next();
        },
      ],
    },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const pi = args.indexOf('--port');
  const hi = args.indexOf('--host');
  const port = pi >= 0 ? Number(args[pi + 1]) : Number(process.env.PORT || 8080);
  const host = hi >= 0 ? args[hi + 1] : '127.0.0.1';
  await serve({ port, host, coi: !args.includes('--no-coi') });
  log(`playground: http://${host}:${port}/demo/  (cross-origin isolated: ${!args.includes('--no-coi')}; Ctrl+C stops)`);
}
