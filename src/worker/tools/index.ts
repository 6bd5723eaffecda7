/** The worker's built-in tools (the agent registers them): time, and the agent's private files. */
export { ToolError, type ToolErrorCode } from './errors.js';
export { getTime, localTimeZone, type TimeInfo } from './time.js';
export {
  AgentFiles,
  checkAgentName,
  checkPath,
  type FileEntry,
  MAX_FILE_BYTES,
  MAX_FILES,
  MAX_FOLDERS,
  MAX_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_TOTAL_BYTES,
} from './files.js';
