/**
 * A function breakpoint's name as a user types it in VS Code's Breakpoints
 * view: a stage, or GDB's `break LOCATION if COND` form (`tcp_input if
 * tcp.dstport == 8080`), the same form the CLI's --break takes. A condition
 * in the name and one in the breakpoint's own condition field must both hold.
 *
 * A trailing `log "MESSAGE"` makes it a logpoint (GDB's dprintf): DAP's
 * function breakpoints have no log message field, so the name carries it,
 * where the Breakpoints view shows and edits it like the rest.
 */

const LOG_SUFFIX = /^([\s\S]*?)\s+log\s+"((?:[^"\\]|\\.)*)"\s*$/;
const NAME_WITH_CONDITION = /^\s*(\S+)\s+if(?:\s+([\s\S]*?))?\s*$/;

export interface StageAndCondition {
  readonly stage: string;
  readonly condition?: string;
  /** The logpoint message, with `{field}` holes. */
  readonly logMessage?: string;
  /** Why the name cannot be a breakpoint (an 'if' with no condition after it). */
  readonly problem?: string;
}

export function splitBreakpointName(name: string, condition?: string): StageAndCondition {
  const log = LOG_SUFFIX.exec(name);
  const logMessage = log ? { logMessage: log[2]!.replace(/\\(.)/g, '$1') } : {};
  const rest = log ? log[1]! : name;
  const m = NAME_WITH_CONDITION.exec(rest);
  const own = condition?.trim() || undefined;
  if (!m) return { stage: rest.trim(), ...(own ? { condition: own } : {}), ...logMessage };
  const inName = m[2]?.trim() ?? '';
  if (!inName) return { stage: m[1]!, problem: `expected a condition after 'if' (as in '${m[1]} if tcp.dstport == 80')` };
  return { stage: m[1]!, condition: own ? `(${inName}) && (${own})` : inName, ...logMessage };
}

/** The name of a logpoint on `stage`: the message quoted, its quotes and backslashes escaped. */
export function logpointName(stage: string, message: string, condition?: string): string {
  const quoted = `"${message.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `${stage}${condition?.trim() ? ` if ${condition.trim()}` : ''} log ${quoted}`;
}
