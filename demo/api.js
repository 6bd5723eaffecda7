// The NeuronOS API without the element: load the offline default model and stream text.
//   ?model=<url>   another GGUF (a Hugging Face …/resolve/main/…gguf URL, say)
//   ?st=1          force the single-thread build
//   ?cdn=<url>     load dist/ from another origin (how a CDN-hosted site works)
//   ?manual=1      start the worker but load nothing (the end-to-end tests drive it)
//   ?tools=all     Chat runs agent turns with the ten built-in tools (default: plain chat)
const $ = (id) => document.getElementById(id);
const status = (s) => ($('status').textContent = s);
const params = new URLSearchParams(location.search);
const model = params.get('model') || '/models/scripted.gguf';
const cdn = params.get('cdn');

const { NeuronOS, NeuronOSError } = await import(cdn ? new URL('neuronos.js', cdn).href : '../dist/neuronos.js');
window.NeuronOSError = NeuronOSError;
const ai = await NeuronOS.create({
  forceSingleThread: params.get('st') === '1',
  relaxedSimd: params.get('relaxed') !== '0',
  ...(cdn ? { workerUrl: new URL('neuronos-inference-worker.js', cdn).href } : {}),
});
window.neuronos = ai; // for the console and the end-to-end tests
status(`Worker ready (${ai.variant === 'mt' ? `threaded, ${ai.threads} threads` : 'single thread'}, SIMD ${ai.simd ? (ai.relaxedSimd ? 'on, relaxed' : 'on') : 'off'}).`);

let current = null;
async function run(kind) {
  $('out').textContent = '';
  $('stop').disabled = false;
  const prompt = $('prompt').value;
  current = kind === 'chat' ? ai.chat(prompt, { temperature: 0, tools: params.get('tools') === 'all' ? undefined : [] }) : ai.generate(prompt, { temperature: 0, maxTokens: 128 });
  try {
    for await (const piece of current) $('out').textContent += piece;
    const r = await current.result;
    status(`Done (${r.finish}): ${r.stats.generatedTokens} tokens, ${r.stats.tokensPerSecond.toFixed(1)} tokens/s.`);
  } catch (e) {
    status(`Failed: ${e.message} (${e.code})`);
  }
  $('stop').disabled = true;
  document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
}
$('generate').onclick = () => run('generate');
$('chat').onclick = () => run('chat');
$('stop').onclick = () => current?.abort();

if (params.get('manual') !== '1') {
  status(`Loading ${model}…`);
  try {
    const info = await ai.loadModel(model, {
      onProgress: (p) => status(`${p.phase}: ${p.percent >= 0 ? p.percent.toFixed(0) + '%' : (p.loaded / 1e6).toFixed(1) + ' MB'}`),
    });
    status(`Loaded ${info.name} (${(info.size_bytes / 1e6).toFixed(1)} MB, ${info.architecture}) on ${ai.variant === 'mt' ? `${ai.threads} threads` : 'one thread'}.`);
    $('generate').disabled = $('chat').disabled = false;
  } catch (e) {
    status(`Could not load the model: ${e.message} (${e.code})`);
  }
}
document.body.dataset.ready = '1';
