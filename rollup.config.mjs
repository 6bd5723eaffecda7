// Bundles (npm run build runs this after the WASM builds):
//   dist/neuronos.js                    the headless NeuronOS API (ES module)
//   dist/neuronos-inference-worker.js   the worker (classic script: it importScripts the
//                                       Emscripten glue, which is not an ES module in 3.1.6)
//   dist/neuronos-chat.js               the self-registering <neuronos-chat> element (ES module)
import { existsSync } from 'node:fs';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const ts = () => typescript({ tsconfig: './tsconfig.json', declaration: false, declarationDir: undefined, outDir: 'dist', sourceMap: true });
const plugins = () => [nodeResolve({ browser: true }), ts(), terser({ format: { comments: /^!|@license/ } })];

const configs = [
  { input: 'src/index.ts', output: { file: 'dist/neuronos.js', format: 'es', sourcemap: true }, plugins: plugins() },
  {
    input: 'src/worker/worker.ts',
    output: { file: 'dist/neuronos-inference-worker.js', format: 'iife', sourcemap: true },
    plugins: plugins(),
  },
];
if (existsSync('components/neuronos-chat/define.ts')) {
  configs.push({
    input: 'components/neuronos-chat/define.ts',
    output: { file: 'dist/neuronos-chat.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
    plugins: plugins(),
  });
}
export default configs;
