/** dist/neuronos.js — the headless API. */
export { NeuronOS } from './neuronos.js';
export type { NeuronOSOptions, LoadOptions, GenerateOptions, ChatOptions, ChatResult, TokenStream, CachedModel } from './neuronos.js';
export type { AgentStepEvent, AgentFinish, PageTool, ToolSpec, ToolParameters, ToolValueSchema, ToolCallRequest, BuiltinToolName } from './agent-types.js';
export { BUILTIN_TOOLS, TOOL_GROUPS } from './agent-types.js';
export type { AgentResult } from './protocol.js';
export { NeuronOSError } from './errors.js';
export type { NeuronOSErrorCode } from './errors.js';
export type { LoadProgress, ModelSource } from './loader.js';
export { splitUrls } from './loader.js';
export type { ChatMessage, GenerationResult, GenerationStats, ModelInfo, SamplingOptions, FinishReason, LoadResult, DeliveryProgress } from './protocol.js';
export type {
  MemoryApi,
  MemoryTier,
  MemoryItem,
  MemoryStoreResult,
  MemorySearchHit,
  MemoryListItem,
  MemorySearchOptions,
  MemoryListOptions,
  MemoryOpenOptions,
  MemoryOpenResult,
  MemoryNotice,
  MemoryExport,
  MemoryImportReport,
  MemoryStats,
  CoreBlock,
  RecallMessage,
  ArchivalEntry,
} from './memory-types.js';
