// The NeuronOS API without the element: load the offline default model and stream text.
import { NeuronOS } from '../dist/neuronos.js';

const $ = (id) => document.getElementById(id);
const status = (s) => ($('status').textContent = s);
const params = new URLSearchParams(location.search);
const model = params.get('model') || '/models/scripted.gguf';

const ai = await NeuronOS.create({ forceSingleThread: params.get('st') === '1' });
window.neuronos = ai; // for the console and the smoke tests
status(`Worker ready (${ai.variant === 'mt' ? `threaded, ${ai.threads} threads` : 'single thread'}, SIMD ${ai.simd ? 'on' : 'off'}). Loading ${model}…`);
try {
  const info = await ai.loadModel(model, {
    onProgress: (p) => status(`${p.phase}: ${p.percent >= 0 ? p.percent.toFixed(0) + '%' : (p.loaded / 1e6).toFixed(1) + ' MB'}`),
  });
  status(`Loaded ${info.name} (${(info.size_bytes / 1e6).toFixed(1)} MB, ${info.architecture}).`);
} catch (e) {
  status(`Could not load the model: ${e.message} (${e.code})`);
  throw e;
}

let current = null;
async function run(kind) {
  $('out').textContent = '';
  $('stop').disabled = false;
  const prompt = $('prompt').value;
  current = kind === 'chat' ? ai.chat(prompt, { temperature: 0 }) : ai.generate(prompt, { temperature: 0, maxTokens: 128 });
  for await (const piece of current) $('out').textContent += piece;
  const r = await current.result;
  status(`Done (${r.finish}): ${r.stats.generatedTokens} tokens, ${r.stats.tokensPerSecond.toFixed(1)} tokens/s.`);
  $('stop').disabled = true;
  document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
}
$('generate').onclick = () => run('generate');
$('chat').onclick = () => run('chat');
$('stop').onclick = () => current?.abort();
$('generate').disabled = $('chat').disabled = false;
document.body.dataset.ready = '1';
