/**
 * One agent turn in the worker: steps the core's ReAct loop, streams thought/answer/step events,
 * asks the client before every tool call, runs the tool (the core's calculator, the worker's
 * time and file tools, or a page tool through the client) and hands the result back.
 */
import type { AgentStepEvent } from '../agent-types.js';
import { NeuronOSError } from '../errors.js';
import type { AgentArgs, AgentResult, EventMap, EventType } from '../protocol.js';
import { AgentState, type Core } from './core.js';
import { AgentFiles, ToolError, getTime } from './tools/index.js';

export interface AgentContext {
  id: number;
  core: Core;
  emit: <E extends EventType>(event: E, data: EventMap[E]) => void;
  /** True once the client asked to stop this request. */
  isAborted: () => boolean;
  /** Resolves when the request is aborted (never rejects). */
  abortSignal: Promise<void>;
  /** Asks the client (approve a call, or run a page tool); rejects on a client error or timeout. */
  call: (payload: { mode: 'approve' | 'run'; tool: string; args: Record<string, unknown>; step: number; confirm: boolean; source: 'builtin' | 'page' }, timeoutMs: number) => Promise<unknown>;
  yieldToEventLoop: () => Promise<void>;
}

const WORKER_TOOLS = new Set(['get_time', 'file_list', 'file_read', 'file_write']);
const APPROVE_TIMEOUT_MS = 10 * 60_000; // a visitor may take their time to confirm

/** Runs a built-in tool; throws ToolError / NeuronOSError with a message for the model. */
async function runBuiltin(core: Core, files: () => AgentFiles, tool: string, args: Record<string, unknown>): Promise<unknown> {
  if (tool === 'get_time') return getTime();
  if (tool === 'file_list') return files().list();
  if (tool === 'file_read') return files().read(args.path as string);
  if (tool === 'file_write') return files().write(args.path as string, args.content as string);
  return core.runCoreTool(tool, args);
}

function errorText(e: unknown): string {
  if (e instanceof ToolError) return e.message;
  if (e instanceof NeuronOSError) return e.code === 'not_implemented' ? e.message : `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

export async function runAgent(ctx: AgentContext, args: AgentArgs): Promise<AgentResult> {
  const { core, emit } = ctx;
  const pageTools = new Map<string, { confirm: boolean; timeoutMs: number }>();
  for (const t of args.tools) {
    if (typeof t !== 'string') pageTools.set(t.name, { confirm: t.confirm === true, timeoutMs: t.timeoutMs ?? args.toolTimeoutMs ?? 30_000 });
  }
  let filesInstance: AgentFiles | null = null;
  const files = () => (filesInstance ??= new AgentFiles(args.agent ?? 'default'));

  core.setSampling(args.sampling);
  core.agentSetTools(args.tools);
  if (ctx.isAborted()) throw new NeuronOSError('aborted', 'stopped before it started', 'agent');
  core.agentBegin(args.messages, {
    system: args.system,
    template: args.template,
    maxSteps: args.maxSteps,
    maxThoughtChars: args.maxThoughtChars,
    maxAnswerChars: args.maxAnswerChars,
    maxStringChars: args.maxStringChars,
    maxArrayItems: args.maxArrayItems,
    conversation: args.conversation,
    plain: args.plain,
  });
  const notice = core.agentNotice();
  if (notice) emit('notice', { code: /cut/.test(notice) ? 'message_truncated' : 'context_trimmed', message: notice });
  const steps: AgentStepEvent[] = [];
  const step = (e: AgentStepEvent) => {
    steps.push(e);
    emit('step', e);
  };
  let answer = '';
  let generated = 0;
  let promptMs = 0;
  let generateMs = 0;
  let last = { nPrompt: 0, nReused: 0 };
  let tPhase = performance.now();
  try {
    for (;;) {
      if (ctx.isAborted()) core.requestAbort();
      const r = core.agentStep(1);
      const now = performance.now();
      if (r.state === AgentState.prompt) {
        promptMs += now - tPhase;
        emit('prompt', { done: r.nPast, total: r.nPrompt });
      } else {
        generateMs += now - tPhase;
      }
      tPhase = now;
      generated += r.nTokens;
      last = { nPrompt: r.nPrompt, nReused: r.nReused };
      if (r.thought) emit('thought', { step: r.step, piece: r.thought });
      if (r.answer) {
        answer += r.answer;
        emit('token', { piece: r.answer, nGenerated: generated });
      }
      if (r.state === AgentState.event && r.event) {
        step({ step: r.event.step, kind: 'invalid', thought: r.event.thought, error: r.event.error });
      } else if (r.state === AgentState.action && r.event) {
        const ev = r.event;
        const tool = ev.tool!;
        const toolArgs = ev.args ?? {};
        step({ step: ev.step, kind: 'action', thought: ev.thought, tool, args: toolArgs });
        const page = pageTools.get(tool);
        const source = page ? 'page' : 'builtin';
        let outcome: { result: unknown } | { error: string };
        let approved: unknown = false;
        let refusal = 'The visitor or the page refused this tool call.';
        try {
          approved = await Promise.race([
            ctx.call({ mode: 'approve', tool, args: toolArgs, step: ev.step, confirm: page?.confirm ?? false, source }, APPROVE_TIMEOUT_MS),
            ctx.abortSignal.then(() => false),
          ]);
        } catch (e) {
          refusal = `The call could not be approved: ${errorText(e)}`;
        }
        if (ctx.isAborted()) {
          core.requestAbort();
          outcome = { error: 'stopped' };
        } else if (approved !== true) {
          outcome = { error: refusal };
          step({ step: ev.step, kind: 'refused', thought: ev.thought, tool, args: toolArgs, error: outcome.error });
        } else {
          try {
            const run = page
              ? ctx.call({ mode: 'run', tool, args: toolArgs, step: ev.step, confirm: page.confirm, source }, page.timeoutMs)
              : runBuiltin(core, files, tool, toolArgs);
            const result = await Promise.race([run, ctx.abortSignal.then(() => undefined)]);
            outcome = { result: result === undefined ? null : result };
          } catch (e) {
            outcome = { error: errorText(e) };
          }
          if (ctx.isAborted()) core.requestAbort();
          step({ step: ev.step, kind: 'observation', thought: ev.thought, tool, args: toolArgs, ...('error' in outcome ? { error: outcome.error } : { result: outcome.result }) });
        }
        core.agentObserve(outcome);
        tPhase = performance.now();
      } else if (r.state === AgentState.done) {
        const ev = r.event;
        if (ev && ev.kind === 'answer') {
          step({ step: ev.step, kind: 'answer', thought: ev.thought, answer: ev.answer ?? '', ...(ev.error ? { error: ev.error } : {}) });
          // the step-limit message was not streamed: it is the answer
          if (r.finish === 'step_limit') {
            answer = ev.answer ?? '';
            emit('token', { piece: answer, nGenerated: generated });
          }
        }
        const agentFinish = r.finish === 'none' ? 'aborted' : r.finish;
        const finish = agentFinish === 'answer' || agentFinish === 'step_limit' ? 'eos' : agentFinish;
        return {
          text: answer,
          finish,
          agentFinish,
          steps,
          assistant: ev?.assistant ?? '',
          stats: {
            promptTokens: last.nPrompt,
            promptReused: last.nReused,
            generatedTokens: generated,
            promptMs,
            generateMs,
            tokensPerSecond: generated > 0 && generateMs > 0 ? (generated * 1000) / generateMs : 0,
          },
        };
      }
      await ctx.yieldToEventLoop();
    }
  } finally {
    core.agentEnd();
  }
}
