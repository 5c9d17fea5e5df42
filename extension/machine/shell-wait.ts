/**
 * When is a guest that is not ours ready? When its console shows a shell
 * prompt. The bundled guest announces itself; any other image (a Debian disk,
 * a cloud image) only prints what its init and getty print, so we read the
 * console's last line: a shell prompt, a login prompt (answered with the
 * user name when one was given), or still booting (reported as progress).
 */
import { PausableClock, type Clock } from '../pipeline/clock';
import type { SerialConsole } from './serial-console';

/**
 * The default shell prompt: a last line ending in "# " or "$ " (root and user
 * shells: bash, dash, busybox ash, zsh's "%" aside). `--prompt REGEX` replaces it.
 */
export const DEFAULT_SHELL_PROMPT = /[#$] $/;
/** getty's "HOSTNAME login: " (and busybox login's "login: "). */
const LOGIN_PROMPT = /login: $/i;
const PASSWORD_PROMPT = /password: ?$/i;
/** busybox init on a console: nothing runs until Enter is pressed. */
const PRESS_ENTER = /press enter to activate/i;
/** A prompt must stay the last line this long: kernel and init lines may pass through a "$ " mid-line. */
const SETTLE_MS = 300;
const PROGRESS_EVERY_MS = 1000;
/** How long a guest that is not ours may take to its shell unless told otherwise (a cloud image's first boot under TCG takes minutes). */
export const DEFAULT_SHELL_WAIT_MS = 15 * 60_000;

/** A user name Usernet may type at a login prompt (no spaces, quotes or control characters). */
const LOGIN_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;

/** Why `name` cannot be typed at a login prompt, or undefined when it can. */
export function loginNameProblem(name: string): string | undefined {
  return LOGIN_NAME.test(name) ? undefined : `expects a user name (letters, digits, '.', '_', '-'), got '${name}'`;
}

/** How the caller's user sets the prompt pattern and the login, named in the messages. */
export interface ShellWaitSettings {
  readonly prompt: string;
  readonly login: string;
}
const CLI_SETTINGS: ShellWaitSettings = { prompt: '--prompt REGEX', login: '--login USER' };

/** What the wait needs of the console: the SerialConsole of a running VM. */
export type ShellConsole = Pick<SerialConsole, 'recentOutput' | 'write' | 'on' | 'off'>;

export interface ShellWaitOptions {
  /** Matched against the console's last line (escape sequences removed). */
  prompt?: RegExp;
  /** Typed at a login prompt. */
  login?: string;
  /** Without `login`, a login prompt ends the wait (an interactive user types it) instead of failing. */
  loginPromptIsReady?: boolean;
  /** Counted on this clock: the VM's, which stands still while it is paused at a breakpoint (host time if absent). */
  clock?: Clock;
  timeoutMs: number;
  onProgress?: (message: string) => void;
  /** Ends the wait (rejecting with the signal's reason): the VM was stopped or went away. */
  signal?: AbortSignal;
  /** How the messages name the prompt and login settings (the CLI's options if absent). */
  settings?: ShellWaitSettings;
}

/** A shell prompt, or (with loginPromptIsReady) a login prompt, `line` as the console shows it. */
export type ShellReady = { kind: 'shell' } | { kind: 'login'; line: string };

/** The last line the console shows, without terminal escape sequences and carriage returns. */
export function lastConsoleLine(text: string): string {
  const plain = text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '') // OSC (window titles in bash prompts)
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '') // CSI (colours, cursor moves)
    .replace(/\x1b[@-_]/g, '');
  const line = plain.slice(plain.lastIndexOf('\n') + 1);
  return line.slice(line.lastIndexOf('\r') + 1);
}

/** Waits for the guest's shell prompt on `serial`, logging in when asked to. */
export function waitForShell(serial: ShellConsole, options: ShellWaitOptions): Promise<ShellReady> {
  const prompt = options.prompt ?? DEFAULT_SHELL_PROMPT;
  // Never paused, a PausableClock is host time.
  const clock = options.clock ?? new PausableClock();
  const settings = options.settings ?? CLI_SETTINGS;
  const t0 = clock.now();
  let loggedIn = false;
  let pressedEnter = false;
  return new Promise<ShellReady>((resolve, reject) => {
    let settle: NodeJS.Timeout | undefined;
    const finish = (error: Error | undefined, ready?: ShellReady) => {
      clearInterval(ticker);
      clock.clearTimeout(deadline);
      clearTimeout(settle);
      serial.off('data', look);
      options.signal?.removeEventListener('abort', aborted);
      if (error) reject(error);
      else resolve(ready!);
    };
    const decide = () => {
      const line = lastConsoleLine(serial.recentOutput);
      if (prompt.test(line) && !LOGIN_PROMPT.test(line)) return finish(undefined, { kind: 'shell' });
      if (PASSWORD_PROMPT.test(line)) {
        return finish(new Error(`the guest asks for a password${loggedIn ? ` for '${options.login}'` : ''}: Usernet types only a user name; give that user a passwordless console login (e.g. getty --autologin on ttyS0)`));
      }
      if (LOGIN_PROMPT.test(line)) {
        if (options.login === undefined) {
          if (options.loginPromptIsReady) return finish(undefined, { kind: 'login', line: line.trim() });
          return finish(new Error(`the guest asks for a login ("${line.trim()}"): give ${settings.login} and Usernet logs in`));
        }
        if (loggedIn) return finish(new Error(`logging in as '${options.login}' gave no shell: the login prompt came back`));
        loggedIn = true;
        serial.write(`${options.login}\n`);
        return;
      }
      if (PRESS_ENTER.test(line) && !pressedEnter) {
        pressedEnter = true;
        serial.write('\n');
      }
    };
    // Decide only once the console has been quiet a moment: the last line is then what it shows.
    const look = () => {
      clearTimeout(settle);
      settle = setTimeout(decide, SETTLE_MS);
    };
    const ticker = setInterval(() => {
      const seconds = Math.round((clock.now() - t0) / 1000);
      const last = lastConsoleLine(serial.recentOutput.trimEnd());
      options.onProgress?.(`waiting for the guest's shell: ${seconds} s${last ? `, last line: ${last.trim().slice(0, 100)}` : ''}`);
    }, PROGRESS_EVERY_MS);
    const deadline = clock.setTimeout(() => {
      const last = lastConsoleLine(serial.recentOutput.trimEnd()).trim();
      finish(new Error(`no shell prompt on the guest's console after ${Math.round(options.timeoutMs / 1000)} s (last line: ${last ? `"${last.slice(0, 100)}"` : 'none'}); if its prompt looks otherwise, give ${settings.prompt}`));
    }, options.timeoutMs);
    const aborted = () => finish(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('the wait for the guest\'s shell was cancelled'));
    if (options.signal?.aborted) return aborted();
    options.signal?.addEventListener('abort', aborted);
    serial.on('data', look);
    look();
  });
}
