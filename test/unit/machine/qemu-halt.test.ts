import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haltedForGood } from '../../../extension/machine/qemu-halt';
import { GUEST_HALT, qemuGuestEnd } from '../../../extension/machine/qemu-exit';

/** The lines of QEMU 7.2's `info registers` that matter, per CPU. */
const cpu = (efl: string, hlt: number) => `EAX=00000000 EBX=00000000\nEIP=c10a1b2c EFL=${efl} [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=${hlt}\nES =007b 00000000 ffffffff 00cff300\n`;

test('every CPU halted with interrupts off is a halt for good; an idle CPU (IF set) or one running is not', () => {
  assert.equal(haltedForGood(`CPU#0\n${cpu('00000046', 1)}`), true);
  assert.equal(haltedForGood(`CPU#0\n${cpu('00000246', 1)}`), false, 'the idle loop halts with interrupts on');
  assert.equal(haltedForGood(`CPU#0\n${cpu('00000046', 0)}`), false);
  assert.equal(haltedForGood(`CPU#0\n${cpu('00000046', 1)}CPU#1\n${cpu('00000246', 1)}`), false, 'one CPU still takes interrupts');
  assert.equal(haltedForGood(`CPU#0\n${cpu('00000046', 1)}CPU#1\n${cpu('00000002', 1)}`), true);
  assert.equal(haltedForGood(''), false);
  assert.equal(haltedForGood('Error: no CPU'), false);
});

test('a QEMU ended after a halt reports a power-off, as the embedded engine does', () => {
  assert.deepEqual(qemuGuestEnd('qemu-system-x86_64 exited with status 0', GUEST_HALT), { reason: 'poweroff', message: 'the guest powered off (it halted its CPU)' });
});
