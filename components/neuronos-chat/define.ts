/**
 * Registers `<neuronos-chat>` (the entry of dist/neuronos-chat.js: one script tag is enough).
 *
 * ```html
 * <script type="module" src="https://…/neuronos-chat.js"></script>
 * <neuronos-chat model="https://…/model.gguf"></neuronos-chat>
 * ```
 *
 * Loading the script twice (or two bundles that both carry the element) registers the tag once.
 */
import { NeuronOSChat } from './neuronos-chat.js';

export { NeuronOSChat, modelNameFromUrl } from './neuronos-chat.js';
export type {
  AgentChatOptions,
  AgentTurnResult,
  ClientFactory,
  ClientLike,
  ClientOptions,
  LoadMode,
  MemoryClientLike,
  MemoryItem,
  MemoryOpenResult,
  MemoryStats,
  MemoryTier,
  NeuronOSChatEventMap,
  NeuronOSErrorDetail,
  NeuronOSMemoryDetail,
  NeuronOSMessageDetail,
  NeuronOSNoticeDetail,
  NeuronOSProgressDetail,
  NeuronOSReadyDetail,
  NeuronOSStepDetail,
  NeuronOSTokenDetail,
  NeuronOSToolCallDetail,
  Status,
  Theme,
} from './neuronos-chat.js';
export type { AgentStepEvent, PageTool, ToolCallRequest, ToolParameters } from '../../src/agent-types.js';
export { renderMarkdown, isSafeUrl } from './markdown.js';

if (typeof customElements !== 'undefined' && !customElements.get('neuronos-chat')) {
  customElements.define('neuronos-chat', NeuronOSChat);
}
