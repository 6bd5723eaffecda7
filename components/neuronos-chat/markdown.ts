/**
 * Markdown → sanitised DOM for model output (untrusted text).
 *
 * Two layers:
 *  1. marked (GFM) turns Markdown into HTML. By default raw HTML in the model's text is *escaped*
 *     (shown as text, the way a chat shows `<b>` typed by a person), images become plain links
 *     (no request leaves the page while a reply renders: a prompt-injected model cannot
 *     exfiltrate the conversation through an image URL), task-list checkboxes become ☐/☑.
 *  2. DOMPurify (a private instance, so the page's own DOMPurify hooks are untouched) keeps an
 *     allow-list of tags and attributes, drops `style`, every `on*` handler, `id`/`name`, data-
 *     and aria- attributes, forms, frames, embeds, SVG/MathML, and every URL that is not http(s),
 *     mailto or relative. Links get `target="_blank" rel="noopener noreferrer nofollow"`.
 *
 * The result is returned as a DocumentFragment (`RETURN_DOM_FRAGMENT`): the sanitised nodes are
 * inserted as they are, never serialised and parsed again, which is what mutation-XSS
 * (`<noscript><p title="</noscript><img …>">`) relies on.
 */
import DOMPurify, { type Config, type DOMPurify as Purifier } from 'dompurify';
import { Marked, type Tokens } from 'marked';

export interface MarkdownOptions {
  /**
   * Let raw HTML in the Markdown through to the sanitiser instead of showing it as text.
   * Default false. Either way nothing unsafe survives; this only decides whether `<b>x</b>`
   * from the model renders bold or literally.
   */
  allowHtml?: boolean;
}

/** Tags model output may produce (after Markdown). Everything else is removed, its text kept. */
export const ALLOWED_TAGS: readonly string[] = [
  'a', 'b', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i',
  'kbd', 'li', 'ol', 'p', 'pre', 's', 'span', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot',
  'th', 'thead', 'tr', 'ul',
];

/** Attributes kept (and then checked: `href` by scheme, `class` only `language-*`). */
export const ALLOWED_ATTR: readonly string[] = ['href', 'title', 'start', 'align', 'class'];

/** URL schemes a link may use; relative URLs are allowed too. */
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

const PURIFY_CONFIG: Config = {
  ALLOWED_TAGS: [...ALLOWED_TAGS],
  ALLOWED_ATTR: [...ALLOWED_ATTR],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  ALLOW_SELF_CLOSE_IN_ATTR: false,
  SAFE_FOR_XML: true,
  WHOLE_DOCUMENT: false,
  FORBID_TAGS: ['style', 'script', 'iframe', 'object', 'embed', 'form', 'meta', 'base', 'link', 'svg', 'math', 'template'],
  FORBID_ATTR: ['style', 'id', 'name', 'srcset', 'src', 'action', 'formaction', 'xlink:href', 'srcdoc'],
};

/**
 * True when `href` is a URL a link may point to: http, https, mailto or relative. Control
 * characters and whitespace are removed first, the way the URL parser does (`jav&#x09;ascript:`).
 */
export function isSafeUrl(href: string): boolean {
  // eslint-disable-next-line no-control-regex
  const cleaned = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  if (cleaned === '') return false;
  let url: URL;
  try {
    url = new URL(cleaned, 'https://relative.invalid/');
  } catch {
    return false;
  }
  return SAFE_SCHEMES.has(url.protocol);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

let purifier: Purifier | null = null;

/** The private DOMPurify instance with our hooks (created on first use: needs a DOM). */
function getPurifier(): Purifier {
  if (purifier) return purifier;
  const p = DOMPurify(window);
  p.addHook('uponSanitizeAttribute', (_node, ev) => {
    const name = ev.attrName.toLowerCase();
    if (name === 'class' && !/^language-[\w+#.-]{1,40}$/.test(ev.attrValue)) ev.keepAttr = false;
    if (name === 'start' && !/^\d{1,9}$/.test(ev.attrValue)) ev.keepAttr = false;
    if (name === 'align' && !/^(left|right|center)$/i.test(ev.attrValue)) ev.keepAttr = false;
    if (name.startsWith('on')) ev.keepAttr = false;
  });
  p.addHook('afterSanitizeAttributes', (node) => {
    if (!(node instanceof Element)) return;
    const href = node.getAttribute('href');
    if (href === null) return;
    if (node.localName !== 'a' || !isSafeUrl(href)) {
      node.removeAttribute('href');
      return;
    }
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  });
  purifier = p;
  return p;
}

function makeMarked(allowHtml: boolean): Marked {
  const m = new Marked({ gfm: true, breaks: true, async: false });
  m.use({
    renderer: {
      html(token: Tokens.HTML | Tokens.Tag): string | false {
        if (allowHtml) return false; // default renderer: raw HTML goes on to the sanitiser
        const text = escapeHtml(token.text);
        return token.block ? `<p>${text}</p>` : text;
      },
      image(token: Tokens.Image): string {
        const label = `image: ${token.text || token.href}`;
        return `<a href="${escapeHtml(token.href)}"${token.title ? ` title="${escapeHtml(token.title)}"` : ''}>[${escapeHtml(label)}]</a>`;
      },
      checkbox(token: Tokens.Checkbox): string {
        return token.checked ? '☑ ' : '☐ ';
      },
    },
  });
  return m;
}

const markedInstances = new Map<boolean, Marked>();

/** Markdown → HTML string, NOT sanitised (exported for tests of the sanitiser layer). */
export function markdownToUnsafeHtml(text: string, opts: MarkdownOptions = {}): string {
  const allowHtml = opts.allowHtml ?? false;
  let m = markedInstances.get(allowHtml);
  if (!m) {
    m = makeMarked(allowHtml);
    markedInstances.set(allowHtml, m);
  }
  return m.parse(text, { async: false });
}

/** Sanitises an HTML string into a fragment of inert, allow-listed nodes. */
export function sanitizeHtml(html: string): DocumentFragment {
  return getPurifier().sanitize(html, { ...PURIFY_CONFIG, RETURN_DOM_FRAGMENT: true });
}

/** Untrusted Markdown (model output) → a sanitised DocumentFragment ready to insert. */
export function renderMarkdown(text: string, opts: MarkdownOptions = {}): DocumentFragment {
  return sanitizeHtml(markdownToUnsafeHtml(text, opts));
}

/** The plain text a reply reads as (for the screen-reader announcement). */
export function markdownToText(text: string): string {
  return (renderMarkdown(text).textContent ?? '').replace(/\s+/g, ' ').trim();
}
