/**
 * How a QEMU process ended, told the way a user can act on: the status or
 * signal, and the last lines QEMU printed (its own error messages).
 */
import type { GuestEnd } from './embedded-machine';

export interface QemuExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The tail of QEMU's stderr (and stdout), trimmed. */
  readonly output: string;
  /** True when Usernet asked it to quit. */
  readonly requested: boolean;
}

/** Lines of QEMU output shown in a report; QEMU's own error is in the last few. */
const REPORTED_LINES = 12;

export function describeQemuExit(program: string, exit: QemuExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code ?? 'unknown'}`;
  const lines = exit.output.trim().split('\n').filter((l) => l.trim() !== '');
  const said = lines.length ? `:\n  ${lines.slice(-REPORTED_LINES).join('\n  ')}` : ' (it printed nothing)';
  return `${program} ${how}${said}`;
}

/** Keeps the last `limit` characters of a growing text. */
export class OutputTail {
  private text = '';
  constructor(private readonly limit = 16_384) {}

  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }

  get value(): string {
    return this.text;
  }
}

/** QEMU's first error line, for a one-line summary (e.g. why KVM did not work). */
export function firstErrorLine(output: string): string {
  const line = output.split('\n').find((l) => /error|fail|assert|cannot|could not/i.test(l)) ?? output.split('\n').find((l) => l.trim());
  return (line ?? '').replace(/^qemu-system-[\w-]+:\s*/, '').trim();
}

/** Our shutdown reason for a guest that halted every CPU for good (qemu-halt.ts); QMP's are 'guest-shutdown', 'guest-reset'... */
export const GUEST_HALT = 'usernet-guest-halt';

/**
 * A QEMU that went away on its own, as the embedded engine reports a guest's
 * end: QMP's SHUTDOWN reason tells a power-off from a reset under -no-reboot.
 */
export function qemuGuestEnd(report: string, shutdownReason: string | undefined): GuestEnd {
  const clean = /exited with status 0\b/.test(report);
  if (clean && shutdownReason === 'guest-shutdown') return { reason: 'poweroff', message: 'the guest powered off' };
  if (clean && shutdownReason === GUEST_HALT) return { reason: 'poweroff', message: 'the guest powered off (it halted its CPU)' };
  if (clean && shutdownReason === 'guest-reset') return { reason: 'reset', message: 'the guest reset; the run ends (no-reboot)' };
  return { reason: clean ? 'poweroff' : 'failure', message: `the VM is gone: ${report}` };
}
