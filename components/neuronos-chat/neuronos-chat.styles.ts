import { css, unsafeCSS } from 'lit';

/**
 * Palettes. Every colour is `var(--neuronos-x, <default>)`, so a page sets `--neuronos-x` on the
 * element (or an ancestor) to theme it; the defaults differ between light and dark. All default
 * pairs pass WCAG AA (4.5:1) for text.
 */
const light = unsafeCSS(`
  --_bg: var(--neuronos-bg, #ffffff);
  --_fg: var(--neuronos-fg, #1f2328);
  --_muted: var(--neuronos-muted-fg, #57606a);
  --_border: var(--neuronos-border, #c9d1d9);
  --_accent: var(--neuronos-accent, #0a58ca);
  --_accent-fg: var(--neuronos-accent-fg, #ffffff);
  --_user-bg: var(--neuronos-user-bg, #e7f0fe);
  --_user-fg: var(--neuronos-user-fg, #1f2328);
  --_assistant-bg: var(--neuronos-assistant-bg, #f6f8fa);
  --_assistant-fg: var(--neuronos-assistant-fg, #1f2328);
  --_error-bg: var(--neuronos-error-bg, #fff0f0);
  --_error-fg: var(--neuronos-error-fg, #a40e26);
  --_code-bg: var(--neuronos-code-bg, #eaeef2);
  --_link: var(--neuronos-link, #0a58ca);
  --_input-bg: var(--neuronos-input-bg, #ffffff);
  --_focus: var(--neuronos-focus-ring, #0a58ca);
  --_step-bg: var(--neuronos-step-bg, #ffffff);
  --_step-fg: var(--neuronos-step-fg, #1f2328);
  --_step-muted: var(--neuronos-step-muted-fg, #57606a);
  --_step-border: var(--neuronos-step-border, #d0d7de);
  --_step-error: var(--neuronos-step-error-fg, #a40e26);
  --_confirm-bg: var(--neuronos-confirm-bg, #fff8c5);
  --_confirm-fg: var(--neuronos-confirm-fg, #1f2328);
  --_confirm-border: var(--neuronos-confirm-border, #9a6700);
  --_danger: var(--neuronos-danger, #b3261e);
  --_danger-fg: var(--neuronos-danger-fg, #ffffff);
  color-scheme: light;
`);

const dark = unsafeCSS(`
  --_bg: var(--neuronos-bg, #16181d);
  --_fg: var(--neuronos-fg, #e6e8eb);
  --_muted: var(--neuronos-muted-fg, #a3abb5);
  --_border: var(--neuronos-border, #3d444d);
  --_accent: var(--neuronos-accent, #8ab4f8);
  --_accent-fg: var(--neuronos-accent-fg, #0b1a33);
  --_user-bg: var(--neuronos-user-bg, #1d3250);
  --_user-fg: var(--neuronos-user-fg, #e6e8eb);
  --_assistant-bg: var(--neuronos-assistant-bg, #22262d);
  --_assistant-fg: var(--neuronos-assistant-fg, #e6e8eb);
  --_error-bg: var(--neuronos-error-bg, #3a1418);
  --_error-fg: var(--neuronos-error-fg, #ffc2c6);
  --_code-bg: var(--neuronos-code-bg, #2d333b);
  --_link: var(--neuronos-link, #8ab4f8);
  --_input-bg: var(--neuronos-input-bg, #1c1f25);
  --_focus: var(--neuronos-focus-ring, #8ab4f8);
  --_step-bg: var(--neuronos-step-bg, #1a1d23);
  --_step-fg: var(--neuronos-step-fg, #e6e8eb);
  --_step-muted: var(--neuronos-step-muted-fg, #a3abb5);
  --_step-border: var(--neuronos-step-border, #3d444d);
  --_step-error: var(--neuronos-step-error-fg, #ffc2c6);
  --_confirm-bg: var(--neuronos-confirm-bg, #2b2410);
  --_confirm-fg: var(--neuronos-confirm-fg, #f2e9d0);
  --_confirm-border: var(--neuronos-confirm-border, #d29922);
  --_danger: var(--neuronos-danger, #ffb4ab);
  --_danger-fg: var(--neuronos-danger-fg, #410e0b);
  color-scheme: dark;
`);

export const styles = css`
  /* Isolation: page CSS that reaches the host (inherited fonts, colours, line heights…) is reset;
     everything inside is styled here. Page rules never match inside the shadow root. */
  :host {
    all: initial;
    display: block;
    contain: content;
    ${light}
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      ${dark}
    }
  }
  :host([theme='dark']) {
    ${dark}
  }
  :host([theme='light']) {
    ${light}
  }
  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  [hidden] {
    display: none !important;
  }

  .container {
    display: flex;
    flex-direction: column;
    gap: var(--neuronos-gap, 0.5rem);
    height: 100%;
    padding: var(--neuronos-padding, 0.75rem);
    background: var(--_bg);
    color: var(--_fg);
    font-family: var(--neuronos-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    font-size: var(--neuronos-font-size, 15px);
    line-height: 1.45;
    text-align: start;
    visibility: visible;
    border: 1px solid var(--_border);
    border-radius: var(--neuronos-radius, 10px);
  }

  .header {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    justify-content: space-between;
    gap: 0.25rem 0.75rem;
  }
  .title {
    display: block;
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  .status {
    display: block;
    color: var(--_muted);
    font-size: 0.875em;
  }
  .header-end {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.25rem 0.6rem;
  }
  .memory-badge {
    font-weight: 400;
  }

  .errors {
    display: block;
    margin: 0;
    padding: 0.5rem 0.75rem;
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
    background: var(--_error-bg);
    color: var(--_error-fg);
  }
  .errors p {
    display: block;
    margin: 0;
    overflow-wrap: anywhere;
  }
  .errors p + p {
    margin-top: 0.25rem;
  }

  .load-panel,
  .progress {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem 0.75rem;
  }
  .progress progress {
    flex: 1 1 10rem;
    accent-color: var(--_accent);
  }
  .progress-text {
    color: var(--_muted);
    font-size: 0.875em;
  }
  .hint {
    display: block;
    margin: 0;
    color: var(--_muted);
    font-size: 0.875em;
  }

  .messages {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    flex: 1 1 auto;
    min-height: var(--neuronos-messages-min-height, 6rem);
    max-height: var(--neuronos-messages-max-height, 28rem);
    overflow-y: auto;
    padding: 0.25rem;
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
  }
  .empty {
    margin: auto;
    color: var(--_muted);
    font-size: 0.875em;
  }

  .message {
    display: block;
    max-width: 92%;
    padding: 0.5rem 0.75rem;
    border-radius: var(--neuronos-radius, 10px);
    overflow-wrap: anywhere;
  }
  .message.user {
    align-self: flex-end;
    background: var(--_user-bg);
    color: var(--_user-fg);
  }
  .message.user .text {
    white-space: pre-wrap;
  }
  .message.assistant {
    align-self: flex-start;
    background: var(--_assistant-bg);
    color: var(--_assistant-fg);
  }
  .message.streaming .md::after {
    content: '▍';
    opacity: 0.6;
  }
  .meta {
    display: block;
    margin-top: 0.25rem;
    color: var(--_muted);
    font-size: 0.8em;
  }
  .message.assistant .meta {
    color: var(--neuronos-assistant-muted-fg, var(--_muted));
  }

  /* rendered Markdown */
  .md > :first-child {
    margin-top: 0;
  }
  .md > :last-child {
    margin-bottom: 0;
  }
  .md p,
  .md ul,
  .md ol,
  .md pre,
  .md blockquote,
  .md table {
    margin: 0.4em 0;
  }
  .md ul,
  .md ol {
    padding-inline-start: 1.4em;
  }
  .md h1,
  .md h2,
  .md h3,
  .md h4,
  .md h5,
  .md h6 {
    margin: 0.6em 0 0.3em;
    font-size: 1.05em;
    line-height: 1.3;
  }
  .md h1 {
    font-size: 1.25em;
  }
  .md h2 {
    font-size: 1.15em;
  }
  .md a {
    color: var(--_link);
    text-decoration: underline;
  }
  .md code {
    font-family: var(--neuronos-mono-font-family, ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace);
    font-size: 0.9em;
    background: var(--_code-bg);
    padding: 0.1em 0.3em;
    border-radius: 4px;
  }
  .md pre {
    overflow-x: auto;
    padding: 0.5em 0.75em;
    background: var(--_code-bg);
    border-radius: 6px;
  }
  .md pre code {
    padding: 0;
    background: none;
  }
  .md blockquote {
    padding-inline-start: 0.75em;
    border-inline-start: 3px solid var(--_border);
    color: inherit;
  }
  .md table {
    border-collapse: collapse;
  }
  .md th,
  .md td {
    padding: 0.2em 0.5em;
    border: 1px solid var(--_border);
  }

  /* agent steps (model output and tool results: plain text only) */
  .steps {
    display: flex;
    flex-direction: column;
    gap: 0.35rem;
    margin-bottom: 0.4rem;
  }
  .step {
    display: block;
    padding: 0.3rem 0.55rem;
    font-size: 0.9em;
    color: var(--_step-fg);
    background: var(--_step-bg);
    border: 1px solid var(--_step-border);
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
  }
  .step-summary {
    display: list-item;
    cursor: pointer;
    font-weight: 600;
  }
  .step[data-status='failed'] .step-summary,
  .step[data-status='refused'] .step-summary,
  .step[data-status='invalid'] .step-summary,
  .step[data-status='interrupted'] .step-summary,
  .step-result[data-outcome='error'],
  .step-result[data-outcome='refused'] {
    color: var(--_step-error);
  }
  .step-body {
    display: flex;
    flex-direction: column;
    gap: 0.3rem;
    margin-top: 0.3rem;
  }
  .step-label {
    display: block;
    color: var(--_step-muted);
    font-size: 0.85em;
    font-weight: 600;
  }
  .step-result[data-outcome='error'] .step-label,
  .step-result[data-outcome='refused'] .step-label {
    color: inherit;
  }
  .step-thought p {
    margin: 0;
    white-space: pre-wrap;
  }
  .step pre,
  .confirm pre {
    margin: 0.15rem 0 0;
    padding: 0.3rem 0.5rem;
    font-family: var(--neuronos-mono-font-family, ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace);
    font-size: 0.9em;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    background: var(--_code-bg);
    color: inherit;
    border-radius: 4px;
  }
  .step code {
    font-family: var(--neuronos-mono-font-family, ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace);
  }

  .confirm {
    display: block;
    padding: 0.5rem 0.65rem;
    color: var(--_confirm-fg);
    background: var(--_confirm-bg);
    border: 2px solid var(--_confirm-border);
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
  }
  .confirm pre {
    background: transparent;
    border: 1px solid var(--_confirm-border);
  }
  .confirm-question {
    margin: 0;
  }
  .confirm-actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    margin-top: 0.5rem;
  }
  .confirm button.secondary {
    color: var(--_confirm-fg);
    border-color: var(--_confirm-border);
  }
  .confirm:focus-visible,
  .confirm:focus {
    outline: 2px solid var(--_focus);
    outline-offset: 2px;
  }

  .composer {
    display: flex;
    gap: 0.5rem;
    align-items: flex-end;
  }
  textarea {
    flex: 1 1 auto;
    min-height: 2.6em;
    max-height: 12em;
    resize: vertical;
    padding: 0.5rem 0.6rem;
    font: inherit;
    color: var(--_fg);
    background: var(--_input-bg);
    border: 1px solid var(--_border);
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
  }
  textarea::placeholder {
    color: var(--_muted);
    opacity: 1;
  }

  button {
    display: inline-block;
    padding: 0.45rem 0.9rem;
    font: inherit;
    font-weight: 600;
    color: var(--_accent-fg);
    background: var(--_accent);
    border: 1px solid var(--_accent);
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
    cursor: pointer;
  }
  button.secondary {
    color: var(--_fg);
    background: transparent;
    border-color: var(--_border);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.55;
  }
  button:focus-visible,
  textarea:focus-visible,
  input:focus-visible,
  summary:focus-visible,
  .messages:focus-visible {
    outline: 2px solid var(--_focus);
    outline-offset: 2px;
  }

  button.small {
    padding: 0.2rem 0.6rem;
    font-size: 0.875em;
  }
  button.danger {
    color: var(--_danger-fg);
    background: var(--_danger);
    border-color: var(--_danger);
  }
  button.danger-outline {
    color: var(--_danger);
    background: transparent;
    border-color: var(--_danger);
  }

  /* memory panel (remembered items are untrusted text: plain text only) */
  .memory-panel {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    max-height: var(--neuronos-memory-max-height, 24rem);
    overflow-y: auto;
    padding: 0.6rem 0.75rem;
    font-size: 0.925em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--neuronos-radius, 10px) * 0.6);
  }
  .memory-panel:focus-visible,
  .memory-tier h3:focus-visible {
    outline: 2px solid var(--_focus);
    outline-offset: 2px;
  }
  .memory-head {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 0.5rem;
  }
  .memory-title {
    margin: 0;
    font-size: 1.05em;
    line-height: 1.3;
  }
  .memory-counts {
    margin: 0;
  }
  .memory-error {
    margin: 0;
    padding: 0.35rem 0.6rem;
    border-radius: 6px;
    background: var(--_error-bg);
    color: var(--_error-fg);
    overflow-wrap: anywhere;
  }
  .memory-search {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.35rem 0.5rem;
  }
  .memory-search input {
    flex: 1 1 10rem;
    font: inherit;
    padding: 0.25rem 0.4rem;
    color: var(--_fg);
    background: var(--_input-bg);
    border: 1px solid var(--_border);
    border-radius: 6px;
  }
  .memory-tier {
    display: flex;
    flex-direction: column;
    align-items: flex-start;
    gap: 0.3rem;
  }
  .memory-tier h3 {
    margin: 0.25rem 0 0;
    font-size: 1em;
    line-height: 1.3;
  }
  .memory-count {
    font-weight: 400;
    color: var(--_muted);
  }
  .memory-list {
    display: flex;
    flex-direction: column;
    gap: 0.3rem;
    align-self: stretch;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .memory-item {
    display: flex;
    align-items: flex-start;
    justify-content: space-between;
    gap: 0.5rem;
    padding: 0.3rem 0.5rem;
    color: var(--_step-fg);
    background: var(--_step-bg);
    border: 1px solid var(--_step-border);
    border-radius: 6px;
  }
  .memory-item-body {
    flex: 1 1 auto;
    min-width: 0;
  }
  .memory-item-label {
    display: block;
    color: var(--_step-muted);
    font-size: 0.85em;
    font-weight: 600;
  }
  .memory-text {
    margin: 0;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .memory-meta {
    display: flex;
    flex-wrap: wrap;
    gap: 0 0.75rem;
    margin: 0.15rem 0 0;
    color: var(--_step-muted);
    font-size: 0.85em;
    overflow-wrap: anywhere;
  }
  .memory-empty {
    font-style: italic;
  }
  .memory-actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    padding-top: 0.25rem;
    border-top: 1px solid var(--_border);
  }
  .confirm-detail {
    margin: 0.25rem 0 0;
    font-size: 0.9em;
  }

  .settings {
    display: block;
    font-size: 0.9em;
  }
  .settings summary {
    display: list-item;
    cursor: pointer;
    color: var(--_fg);
    width: max-content;
  }
  .settings-body {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
    gap: 0.5rem 0.75rem;
    margin-top: 0.5rem;
  }
  .field {
    display: flex;
    flex-direction: column;
    gap: 0.15rem;
  }
  .field label {
    display: block;
  }
  .field input {
    font: inherit;
    padding: 0.3rem 0.4rem;
    color: var(--_fg);
    background: var(--_input-bg);
    border: 1px solid var(--_border);
    border-radius: 6px;
  }
  .settings-actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    grid-column: 1 / -1;
  }

  .visually-hidden {
    position: absolute !important;
    width: 1px !important;
    height: 1px !important;
    padding: 0 !important;
    margin: -1px !important;
    overflow: hidden !important;
    clip: rect(0 0 0 0) !important;
    white-space: nowrap !important;
    border: 0 !important;
  }

  @media (prefers-reduced-motion: reduce) {
    .message.streaming .md::after {
      content: '';
    }
  }
`;
