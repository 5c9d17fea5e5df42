/**
 * A guest whose kernel cannot power the machine off (no ACPI, as the bundled
 * one) ends `poweroff -f` and `halt -f` by halting every CPU with interrupts
 * off: QEMU then runs on forever and says nothing. The embedded engine sees
 * that halt in v86; under QEMU the CPU state is read through QMP's human
 * monitor (`info registers -a`) once a second, and a CPU halted with IF clear
 * on every processor is a power-off, as on the embedded engine.
 */
import type { QmpClient } from './qmp';

/** How often the CPUs are looked at (one monitor command; the guest runs meanwhile). */
export const HALT_POLL_MS = 1000;
/** EFLAGS' interrupt-enable bit: halted with it clear, only an NMI or a reset wakes the CPU. */
const EFLAGS_IF = 0x200;

/** True when the register dump shows every CPU halted with interrupts disabled. */
export function haltedForGood(dump: string): boolean {
  const flags = [...dump.matchAll(/\bEFL=([0-9a-fA-F]+)\b/g)].map((m) => parseInt(m[1]!, 16));
  const halts = [...dump.matchAll(/\bHLT=(\d)\b/g)].map((m) => m[1]);
  return flags.length > 0 && flags.length === halts.length && halts.every((h) => h === '1') && flags.every((f) => (f & EFLAGS_IF) === 0);
}

/**
 * Polls until the guest halted for good, then calls `onHalt` once. `paused`
 * skips a turn (a VM stopped by the debugger is not halted). Returns the stop function.
 */
export function watchForHalt(qmp: QmpClient, paused: () => boolean, onHalt: () => void): () => void {
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy || stopped || paused()) return;
    busy = true;
    qmp
      .execute<string>('human-monitor-command', { 'command-line': 'info registers -a' })
      .then((dump) => {
        if (stopped || typeof dump !== 'string' || !haltedForGood(dump)) return;
        stop();
        onHalt();
      })
      .catch(() => {})
      .finally(() => (busy = false));
  }, HALT_POLL_MS);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
