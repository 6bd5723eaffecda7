/**
 * Page-side checks of tools: the allow-list (names and groups) and page tool specs. The core
 * checks specs again (core-c/src/tools.c) with the same rules; this copy lets `registerTool`
 * refuse a bad tool synchronously, where the page developer calls it.
 */
import { BUILTIN_TOOLS, TOOL_GROUPS, type BuiltinToolName, type PageTool } from './agent-types.js';
import { NeuronOSError } from './errors.js';

const TOOL_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SCALARS = new Set(['string', 'number', 'integer', 'boolean']);

/** Expands an allow-list (tool names and the groups `memory`, `files`; `all`) to built-in names.
 *  Unknown names are refused with `invalid_argument`. Page tool names may appear and are skipped
 *  (page tools are always enabled while registered). */
export function resolveAllowList(list: readonly string[] | undefined, pageToolNames: ReadonlySet<string> = new Set()): BuiltinToolName[] {
  if (list === undefined) return [...BUILTIN_TOOLS];
  const out = new Set<BuiltinToolName>();
  for (const raw of list) {
    const name = raw.trim().toLowerCase();
    if (!name || name === 'none') continue;
    if (name === 'all') BUILTIN_TOOLS.forEach((t) => out.add(t));
    else if (TOOL_GROUPS[name]) TOOL_GROUPS[name]!.forEach((t) => out.add(t));
    else if ((BUILTIN_TOOLS as readonly string[]).includes(name)) out.add(name as BuiltinToolName);
    else if (!pageToolNames.has(name)) throw new NeuronOSError('invalid_argument', `unknown tool or group "${raw}" (built-in tools: ${BUILTIN_TOOLS.join(', ')}; groups: ${Object.keys(TOOL_GROUPS).join(', ')})`, 'tools');
  }
  // keep the built-in order, so the same allow-list always gives the same prompt
  return BUILTIN_TOOLS.filter((t) => out.has(t));
}

function fail(tool: string, why: string): never {
  throw new NeuronOSError('invalid_argument', `tool ${tool}: ${why}`, 'registerTool');
}

function onlyKeys(tool: string, where: string, obj: object, allowed: string[]): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length) fail(tool, `${where} uses unsupported keyword(s) ${extra.join(', ')} (supported: ${allowed.join(', ')})`);
}

function checkEnum(tool: string, where: string, values: unknown): void {
  if (!Array.isArray(values) || values.length === 0) fail(tool, `${where}: enum must be a non-empty array of strings`);
  for (const v of values) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 100 || /["\\]/.test(v)) {
      fail(tool, `${where}: enum values must be non-empty strings of up to 100 characters without quotes or backslashes`);
    }
  }
}

/** Checks a page tool against the supported JSON Schema subset (README: "Page-defined tools"). */
export function validatePageTool(tool: PageTool): void {
  if (!tool || typeof tool !== 'object') throw new NeuronOSError('invalid_argument', 'registerTool needs {name, description, parameters, handler}', 'registerTool');
  const name = tool.name;
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw new NeuronOSError('invalid_argument', `tool name ${JSON.stringify(name)} is not allowed: use 1-48 characters a-z, 0-9 and _, starting with a letter or _`, 'registerTool');
  }
  if ((BUILTIN_TOOLS as readonly string[]).includes(name) || TOOL_GROUPS[name] || name === 'all' || name === 'none') fail(name, 'the name is taken by a built-in tool or group');
  if (typeof tool.handler !== 'function') fail(name, 'handler must be a function');
  if (tool.description !== undefined && typeof tool.description !== 'string') fail(name, 'description must be a string');
  if ((tool.description ?? '').length > 1000) fail(name, 'the description is longer than 1000 characters');
  if (tool.timeoutMs !== undefined && !(Number.isFinite(tool.timeoutMs) && tool.timeoutMs > 0)) fail(name, 'timeoutMs must be a positive number');
  const p = tool.parameters as unknown;
  if (p === undefined) return;
  if (!p || typeof p !== 'object' || Array.isArray(p)) fail(name, 'parameters must be a JSON Schema object');
  const params = p as Record<string, unknown>;
  onlyKeys(name, 'parameters', params, ['type', 'properties', 'required', 'additionalProperties', 'description', '$schema']);
  if (params.type !== 'object') fail(name, 'parameters must have "type": "object"');
  if (params.additionalProperties !== undefined && params.additionalProperties !== false) fail(name, 'additionalProperties can only be false');
  const props = (params.properties ?? {}) as Record<string, unknown>;
  if (typeof props !== 'object' || Array.isArray(props)) fail(name, '"properties" must be an object');
  const keys = Object.keys(props);
  if (keys.length > 32) fail(name, 'more than 32 parameters');
  for (const key of keys) {
    if (!PARAM_NAME.test(key)) fail(name, `parameter name "${key}" is not allowed (letters, digits and _, up to 64)`);
    const s = props[key] as Record<string, unknown>;
    if (!s || typeof s !== 'object' || Array.isArray(s)) fail(name, `parameter ${key} must be a schema object`);
    onlyKeys(name, `parameter ${key}`, s, ['type', 'description', 'enum', 'items']);
    if (s.description !== undefined && typeof s.description !== 'string') fail(name, `parameter ${key}: description must be a string`);
    if (s.type === 'array') {
      const items = s.items as Record<string, unknown> | undefined;
      if (!items || typeof items !== 'object') fail(name, `array parameter ${key} needs "items": {"type": …}`);
      onlyKeys(name, `parameter ${key} items`, items, ['type', 'enum', 'description']);
      if (!SCALARS.has(items.type as string)) fail(name, `parameter ${key}: items must be string, number, integer or boolean`);
      if (items.enum !== undefined) {
        if (items.type !== 'string') fail(name, `parameter ${key}: enum is only for string items`);
        checkEnum(name, `parameter ${key}`, items.enum);
      }
      if (s.enum !== undefined) fail(name, `parameter ${key}: enum belongs in items`);
    } else {
      if (!SCALARS.has(s.type as string)) fail(name, `parameter ${key}: type must be string, number, integer, boolean or array`);
      if (s.items !== undefined) fail(name, `parameter ${key}: items only for arrays`);
      if (s.enum !== undefined) {
        if (s.type !== 'string') fail(name, `parameter ${key}: enum is only supported for strings`);
        checkEnum(name, `parameter ${key}`, s.enum);
      }
    }
  }
  const required = params.required ?? [];
  if (!Array.isArray(required) || required.some((r) => typeof r !== 'string' || !keys.includes(r))) fail(name, '"required" must list names from "properties"');
}
