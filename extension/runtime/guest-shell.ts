/**
 * A launch of a guest that is not ours (the QEMU engine with the user's disk
 * or kernel) is ready when its console shows a shell, as `usernet run` is:
 * the same wait (machine/shell-wait.ts), counted on the VM's clock so that a
 * stop at a breakpoint during the boot does not eat the time, and ended at
 * once when the VM is stopped or goes away.
 */
import { waitForShell, type ShellWaitSettings } from '../machine/shell-wait';
import type { RuntimeMachine } from './machine-port';
import type { ShellPlan } from './runtime-types';

/** The launch was stopped (the progress cancelled, the session ended) while the guest booted: not a failure. */
export class LaunchCancelled extends Error {
  constructor() {
    super('the launch was cancelled while the guest booted');
  }
}

/** How a launch configuration sets what the wait uses, for its messages. */
const LAUNCH_SETTINGS: ShellWaitSettings = {
  prompt: '"prompt" (a regular expression matching its last line) in the launch configuration',
  login: '"login" in the launch configuration',
};

/**
 * Waits for `machine`'s shell; resolves with what to tell the user when the
 * guest stopped at a login prompt (the serial console is interactive: the
 * user may log in there), undefined at a shell prompt.
 */
export async function waitForGuestShell(machine: RuntimeMachine, shell: ShellPlan, signal: AbortSignal, onProgress: (message: string) => void): Promise<string | undefined> {
  if (!machine.console) throw new Error('this engine has no serial console to wait on');
  const ready = await waitForShell(machine.console, { ...shell, loginPromptIsReady: true, clock: machine.clock, signal, settings: LAUNCH_SETTINGS, onProgress });
  if (ready.kind === 'shell') return undefined;
  return `the guest asks for a login ("${ready.line}"): log in in the serial console (Usernet: Open Serial Console), or set ${LAUNCH_SETTINGS.login} and Usernet logs in at launch`;
}
