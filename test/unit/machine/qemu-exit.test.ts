import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeQemuExit, firstErrorLine, OutputTail } from '../../../extension/machine/qemu-exit';
import { VmRuntime } from '../../../extension/runtime/vm-runtime';
import { FakeMachine, fakeFactory, launchPlan, QEMU_START } from '../runtime/fake-machine';

test('a QEMU exit is told with its status or signal and its last lines', () => {
  const out = 'qemu-system-x86_64: -hda nope.img: Could not open \'nope.img\': No such file or directory\n';
  assert.equal(describeQemuExit('qemu-system-x86_64', { code: 1, signal: null, output: out, requested: false }),
    "qemu-system-x86_64 exited with status 1:\n  qemu-system-x86_64: -hda nope.img: Could not open 'nope.img': No such file or directory");
  assert.equal(describeQemuExit('qemu', { code: null, signal: 'SIGKILL', output: '', requested: false }), 'qemu was killed by SIGKILL (it printed nothing)');
  const long = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
  const told = describeQemuExit('qemu', { code: 1, signal: null, output: long, requested: false });
  assert.ok(told.includes('line 39') && !told.includes('line 27\n'), 'only the last lines are quoted');
});

test('the reason KVM failed is the first error line, without the program prefix', () => {
  const out = 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../target/i386/kvm/kvm.c:3183: Assertion failed.\n';
  assert.equal(firstErrorLine(out), 'error: failed to set MSR 0x10a to 0x69');
});

test('the output tail keeps only the end', () => {
  const t = new OutputTail(10);
  t.push('0123456789');
  t.push('abc');
  assert.equal(t.value, '3456789abc');
});

test('under the QEMU engine, breakpoints on its e1000 and net queue are unverified with the reason; slirp ones arm', async () => {
  const rt = new VmRuntime({ startMachine: fakeFactory(new FakeMachine()), stagePollMs: 10_000 });
  // Set before launch: the engine is not known yet, so all verify...
  const before = rt.setBreakpoints([{ name: 'e1000_send_packet' }, { name: 'udp_input' }]);
  assert.deepEqual(before.map((s) => s.verified), [true, true]);
  const changed: { id: number; verified: boolean; message?: string }[] = [];
  rt.on('breakpointsChanged', (list) => changed.push(...list));
  await rt.start(launchPlan({ start: QEMU_START }));
  // ...and the launch withdraws the one that can never fire.
  assert.equal(changed.length, 1);
  assert.equal(changed[0]!.id, before[0]!.id);
  assert.equal(changed[0]!.verified, false);
  assert.match(changed[0]!.message!, /e1000_send_packet is QEMU's, not ours under the QEMU engine/);
  const after = rt.setBreakpoints([{ name: 'qemu_send_packet' }, { name: 'set_ics' }, { name: 'net_slirp_receive' }, { name: 'tcp_input', condition: 'tcp.dstport == 80' }]);
  assert.deepEqual(after.map((s) => s.verified), [false, false, true, true]);
  assert.match(after[0]!.message!, /not ours under the QEMU engine/);
  await rt.terminate();
});
