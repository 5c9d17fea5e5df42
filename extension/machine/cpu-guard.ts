/**
 * Containment of the emulated CPU. v86 runs the guest in ticks (its
 * `do_tick`, scheduled with setImmediate/setTimeout); anything that goes wrong
 * inside one — a Rust panic that becomes a wasm trap (`RuntimeError:
 * unreachable`), a stack overflow from nested faults, an exception thrown by a
 * device model — would otherwise reach Node as an uncaught exception and end
 * the whole process (the CLI, or the debug adapter with every VM in it). The
 * guard runs each tick inside a try/catch, stops that machine only, and turns
 * the failure into one line a user can read.
 *
 * It also notices the two ways a guest without ACPI leaves: a triple fault
 * (a reset on hardware; in v86, a panic or a runaway fault recursion) and a
 * CPU halted with interrupts disabled (Linux's poweroff and halt end there:
 * nothing can wake it).
 */

export type CpuEventKind = 'reset' | 'halt' | 'failure';

export interface CpuEvent {
  readonly kind: CpuEventKind;
  /** One line: "the emulated CPU stopped: unimplemented #GP handler (guest reset)". */
  readonly message: string;
}

/** The parts of v86's internal main loop object (`emulator.v86`) the guard touches. */
export interface V86Loop {
  do_tick(): void;
  running: boolean;
  stopping: boolean;
  bus: { send(name: string, value?: unknown): void };
  cpu: { in_hlt: Uint8Array; flags: Int32Array };
}

/** EFLAGS.IF: a CPU halted with it clear stays halted. */
export const EFLAGS_IF = 1 << 9;

/** Frames of v86's own interrupt delivery: a stack overflow through them is a fault recursion. */
const FAULT_RECURSION_FRAMES = /call_interrupt_vector|do_page_walk|trigger_(?:gp|pf|ud|np|ss)/;

/**
 * Names what stopped the CPU. v86 has no double-fault path: where hardware
 * triple-faults (and resets), v86 panics with "#GP handler" (an exception
 * while the IDT cannot deliver one, which is how Linux reboots when nothing
 * else works) or recurses through page-fault delivery until the JS stack
 * overflows (the guest's memory or page tables overwritten). Both are the
 * guest resetting itself; anything else is a failure of the emulator.
 */
export function classifyCpuFailure(error: unknown, consoleLines: readonly string[]): CpuEvent {
  const e = error instanceof Error ? error : new Error(String(error));
  const said = consoleLines.join('\n');
  const panic = /panicked at ([^\n]*?):?\n([^\n]+)/.exec(said);
  if (panic) {
    const what = panic[2]!.replace(/^Unimplemented: /, 'unimplemented ').trim();
    if (/#GP handler/.test(what)) return { kind: 'reset', message: `the emulated CPU stopped: ${what} (guest reset)` };
    return { kind: 'failure', message: `the emulated CPU stopped: v86 panicked: ${what} (at ${panic[1]})` };
  }
  if (e instanceof RangeError && /call stack size/i.test(e.message) && FAULT_RECURSION_FRAMES.test(e.stack ?? '')) {
    return { kind: 'reset', message: 'the emulated CPU stopped: faults nested until the stack overflowed (guest reset: a triple fault on hardware)' };
  }
  const where = firstOwnFrame(e.stack);
  return { kind: 'failure', message: `the emulated CPU stopped: ${e.name}: ${e.message}${where ? ` (in ${where})` : ''}` };
}

/** The first stack frame outside v86, which names the device model that threw. */
function firstOwnFrame(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /^\s+at (?:(\S+) \()?(.*?)\)?$/.exec(line);
    if (!m || /wasm|libv86|node:/.test(m[2] ?? '')) continue;
    return m[1] ?? m[2];
  }
  return undefined;
}

/**
 * Wraps the loop's tick. v86 prints a panic's message through console.error
 * just before the trap; during a tick those lines are held back, kept when
 * the tick fails (they name the panic) and passed on otherwise.
 */
export function guardCpuLoop(loop: V86Loop, onEvent: (event: CpuEvent) => void): void {
  const tick = loop.do_tick;
  let over = false;
  const stopLoop = (): void => {
    over = true;
    loop.running = false;
    loop.stopping = false;
    // The V86 object waits for this before it calls a stop done.
    loop.bus.send('emulator-stopped');
  };
  loop.do_tick = function guardedTick(): void {
    if (over) return;
    const said: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void said.push(args.map(String).join(' '));
    let failure: unknown;
    let failed = false;
    try {
      tick.call(loop);
    } catch (e) {
      failed = true;
      failure = e;
    } finally {
      console.error = consoleError;
    }
    if (failed) {
      stopLoop();
      onEvent(classifyCpuFailure(failure, said));
      return;
    }
    for (const line of said) consoleError(line);
    if (loop.running && loop.cpu.in_hlt[0] && !(loop.cpu.flags[0]! & EFLAGS_IF)) {
      stopLoop();
      onEvent({ kind: 'halt', message: 'the guest halted its CPU with interrupts off' });
    }
  };
}
