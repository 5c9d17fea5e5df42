import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyCpuFailure, guardCpuLoop, type CpuEvent, type V86Loop } from '../../../extension/machine/cpu-guard';

/** What v86 prints through console.error just before a Rust panic traps (seen on `reboot -f`). */
const GP_PANIC = ['panicked at src/rust/cpu/cpu.rs:815:13:\nUnimplemented: #GP handler'];

test('a #GP-handler panic is the guest resetting itself (a triple fault)', () => {
  const e = classifyCpuFailure(new WebAssembly.RuntimeError('unreachable'), GP_PANIC);
  assert.deepEqual(e, { kind: 'reset', message: 'the emulated CPU stopped: unimplemented #GP handler (guest reset)' });
});

test('another panic is a failure naming the panic and where', () => {
  const e = classifyCpuFailure(new WebAssembly.RuntimeError('unreachable'), ['panicked at src/rust/cpu/instructions.rs:12:5:\nUnimplemented: SSE4 op']);
  assert.equal(e.kind, 'failure');
  assert.equal(e.message, 'the emulated CPU stopped: v86 panicked: unimplemented SSE4 op (at src/rust/cpu/instructions.rs:12:5)');
});

test('a stack overflow through fault delivery is a reset; elsewhere it is a failure', () => {
  const nested = new RangeError('Maximum call stack size exceeded');
  nested.stack = 'RangeError: Maximum call stack size exceeded\n    at v86.wasm.do_page_walk (wasm://wasm/v86.wasm-1:1)\n    at v86.wasm.call_interrupt_vector (wasm://wasm/v86.wasm-1:1)';
  assert.equal(classifyCpuFailure(nested, []).kind, 'reset');
  const ours = new RangeError('Maximum call stack size exceeded');
  ours.stack = 'RangeError: Maximum call stack size exceeded\n    at TxEngine.walk (/x/extension/e1000/tx.ts:1:1)';
  assert.deepEqual(classifyCpuFailure(ours, []), { kind: 'failure', message: 'the emulated CPU stopped: RangeError: Maximum call stack size exceeded (in TxEngine.walk)' });
});

function fakeLoop(tick: (loop: V86Loop) => void): V86Loop & { sent: string[] } {
  const sent: string[] = [];
  const loop = {
    running: true,
    stopping: false,
    sent,
    bus: { send: (name: string) => void sent.push(name) },
    cpu: { in_hlt: new Uint8Array(1), flags: new Int32Array(1) },
    do_tick(): void {
      tick(loop);
    },
  };
  return loop;
}

/** Runs `body` with console.error captured and given back after; returns what was printed. */
function capturingConsoleError(body: () => void): string[] {
  const printed: string[] = [];
  const consoleError = console.error;
  console.error = (...a: unknown[]) => void printed.push(a.join(' '));
  try {
    body();
  } finally {
    console.error = consoleError;
  }
  return printed;
}

test('the guard contains a throwing tick: the loop stops, the stop is announced, the panic text is not printed', () => {
  const loop = fakeLoop(() => {
    console.error(GP_PANIC[0]);
    throw new WebAssembly.RuntimeError('unreachable');
  });
  const events: CpuEvent[] = [];
  const consoleError = console.error;
  const printed = capturingConsoleError(() => {
    guardCpuLoop(loop, (e) => events.push(e));
    assert.doesNotThrow(() => loop.do_tick());
    loop.do_tick(); // a tick already scheduled does nothing once the CPU stopped
  });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'reset');
  assert.equal(loop.running, false);
  assert.deepEqual(loop.sent, ['emulator-stopped']);
  assert.deepEqual(printed, []);
  assert.equal(console.error, consoleError, 'console.error is given back');
});

test('the guard passes on what a healthy tick prints and reports a CPU halted with interrupts off', () => {
  let ticks = 0;
  const loop = fakeLoop((l) => {
    ticks++;
    console.error('v86 says something');
    if (ticks === 2) l.cpu.in_hlt[0] = 1; // HLT with IF clear: Linux's poweroff without ACPI
  });
  loop.cpu.flags[0] = 0x202;
  const events: CpuEvent[] = [];
  const printed = capturingConsoleError(() => {
    guardCpuLoop(loop, (e) => events.push(e));
    loop.do_tick();
    assert.deepEqual(events, []);
    loop.cpu.in_hlt[0] = 1; // halted with interrupts on: an idle guest
    loop.do_tick();
    assert.deepEqual(events, []);
    loop.cpu.flags[0] = 0x002;
    loop.do_tick();
  });
  assert.deepEqual(printed, ['v86 says something', 'v86 says something', 'v86 says something']);
  assert.deepEqual((events as CpuEvent[]).map((e) => e.kind), ['halt']);
  assert.equal(loop.running, false);
});
