import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureEngineOf } from '../../../extension/cli/capture';
import { QemuMachine } from '../../../extension/machine/qemu-machine';

test('--pcap captures at slirp\'s edge when the machine is a QEMU one, at the net queue otherwise', () => {
  const qemu: object = Object.create(QemuMachine.prototype);
  assert.equal(captureEngineOf(qemu), 'qemu');
  assert.equal(captureEngineOf({ probes: {} }), 'embedded');
});
