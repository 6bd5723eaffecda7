// A bare page for the end-to-end tests: one <neuronos-chat> with the attributes given in
// ?attrs=… (parsed with DOMParser, never innerHTML of raw input), every event recorded.
window.events = [];
for (const type of ['neuronos-ready', 'neuronos-progress', 'neuronos-token', 'neuronos-message', 'neuronos-error', 'neuronos-step', 'neuronos-tool-call', 'neuronos-notice']) {
  document.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }));
}
const attrs = new URLSearchParams(location.search).get('attrs') || '';
const doc = new DOMParser().parseFromString(`<neuronos-chat ${attrs}></neuronos-chat>`, 'text/html');
const el = document.createElement('neuronos-chat');
for (const a of doc.body.firstElementChild.attributes) el.setAttribute(a.name, a.value);
document.querySelector('main').append(el);
