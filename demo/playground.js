// The playground: a model picker around <neuronos-chat>, with the cached models.
import { NeuronOS } from '../dist/neuronos.js';
const MODELS = [
  {
    id: 'agent',
    label: 'Offline agent (generated, scripted)',
    url: '/models/agent-scripted.gguf',
    temperature: '0',
    tools: null, // all ten built-ins
    note:
      'A test instrument, not an assistant: a tiny model we generate ourselves (real llama.cpp ' +
      'inference, real Qwen2 vocabulary and chat template, never trained) that plays a fixed agent ' +
      'script. Ask "What is 17 * 23?" and watch it call the calculator and answer; "Hello" gets a ' +
      'greeting. Anything else gets whatever its script allows. It needs no network.',
  },
  {
    id: 'scripted',
    label: 'Offline chat (25 MB, generated)',
    url: '/models/scripted.gguf',
    temperature: '0',
    tools: 'none', // a plain chat model: no JSON steps
    note:
      'A test instrument: whatever you say, it greedily replies with the same sentence (plain chat, ' +
      'no tools). It needs no network.',
  },
  {
    id: 'tiny-random',
    label: 'Offline random weights (26 MB, gibberish)',
    url: '/models/tiny-random.gguf',
    temperature: '0.7',
    tools: 'none',
    note: 'Random weights with a real vocabulary: fluent nonsense, useful to watch streaming and Stop.',
  },
  {
    id: 'qwen',
    label: 'Qwen2.5 0.5B Instruct, Q4_0 (≈ 430 MB, Hugging Face)',
    url: 'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_0.gguf',
    temperature: '0.7',
    note: 'A real small assistant. Downloads from Hugging Face when you press Load (needs internet).',
  },
  {
    id: 'smollm',
    label: 'SmolLM2 360M Instruct, Q8_0 (≈ 390 MB, Hugging Face)',
    url: 'https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/resolve/main/smollm2-360m-instruct-q8_0.gguf',
    temperature: '0.7',
    note: 'A real small assistant. Downloads from Hugging Face when you press Load (needs internet).',
  },
  {
    id: 'bitnet',
    label: 'BitNet b1.58 2B-4T (I2_S) (1.19 GB, Hugging Face)',
    url: 'https://huggingface.co/microsoft/BitNet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf',
    temperature: '0.7',
    note:
      "Microsoft's 1.58-bit model in its own I2_S format, run by our ternary WASM SIMD kernels. " +
      'Downloads 1.19 GB from Hugging Face when you press Load (needs internet) and needs about 1.5 GB ' +
      'of memory; the second visit loads it from the cache.',
  },
];

const chat = document.getElementById('chat');
const box = document.getElementById('models');
const note = document.getElementById('model-note');
let objectUrl = null;

function choose(m) {
  note.textContent = m.note;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
  chat.setAttribute('temperature', m.temperature);
  if (m.tools === undefined || m.tools === null) chat.removeAttribute('tools');
  else chat.setAttribute('tools', m.tools);
  // offline models load at once; downloads wait for the visitor's click
  chat.setAttribute('load', m.url.startsWith('/') ? 'eager' : 'click');
  chat.setAttribute('model', m.url);
  history.replaceState(null, '', `?model=${m.id}`);
}

const wanted = new URLSearchParams(location.search).get('model') || 'agent';
for (const m of MODELS) {
  const id = `model-${m.id}`;
  const row = document.createElement('div');
  const input = Object.assign(document.createElement('input'), { type: 'radio', name: 'model', id, value: m.id });
  const label = Object.assign(document.createElement('label'), { htmlFor: id, textContent: m.label });
  label.dataset.url = new URL(m.url, location.href).href;
  input.addEventListener('change', () => choose(m));
  row.append(input, label);
  box.append(row);
  if (m.id === wanted) {
    input.checked = true;
    choose(m);
  }
}

function openFile(file) {
  if (!file) return;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(file);
  for (const r of box.querySelectorAll('input')) r.checked = false;
  note.textContent = `Local file ${file.name} (${(file.size / 1e6).toFixed(1)} MB), read from your disk.`;
  chat.setAttribute('load', 'eager');
  chat.setAttribute('model', objectUrl);
}
document.getElementById('file').addEventListener('change', (e) => openFile(e.target.files[0]));
const drop = document.getElementById('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  openFile(e.dataTransfer.files[0]);
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') document.getElementById('file').click();
});

// Which models are in this browser's cache (OPFS): marked in the picker, listed with Delete.
async function showCache() {
  let cached = [];
  try {
    cached = await NeuronOS.cachedModels();
  } catch {
    /* no OPFS here */
  }
  const urls = new Set(cached.map((c) => c.url));
  for (const label of box.querySelectorAll('label')) {
    label.querySelector('.cached')?.remove();
    if (urls.has(label.dataset.url)) label.append(Object.assign(document.createElement('span'), { className: 'cached', textContent: ' — cached' }));
  }
  const list = document.getElementById('cache-list');
  list.replaceChildren();
  for (const c of cached) {
    const li = document.createElement('li');
    const name = decodeURIComponent(new URL(c.url).pathname.split('/').pop());
    const del = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Delete' });
    del.setAttribute('aria-label', `Delete ${name} from the cache`);
    del.addEventListener('click', async () => {
      try {
        await NeuronOS.deleteCachedModel(c.url);
      } catch (e) {
        alert(e.message);
      }
      showCache();
    });
    li.append(`${name} (${(c.size / 2 ** 20).toFixed(1)} MiB) `, del);
    list.append(li);
  }
  document.getElementById('cache-empty').hidden = cached.length > 0;
}
chat.addEventListener('neuronos-ready', showCache);
showCache();
