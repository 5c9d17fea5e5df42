import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, CMD, Driver, FakeBus, legacyDesc, MAC, R, ICR_BITS } from './harness';
import { E1000 } from '../../../extension/e1000/e1000';
import type { E1000State } from '../../../extension/e1000/e1000';
import { ethFrame } from './packets';

const ME = Array.from(MAC);

test('saveState/restoreState: a restored NIC keeps receiving and transmitting where it was', () => {
  const a = bench();
  a.drv.reset();
  a.drv.setupTx(8);
  a.drv.setupRx(8);
  a.drv.w(R.IMS, ICR_BITS.RXT0 | ICR_BITS.TXDW);
  a.drv.w(R.RDTR, 100);
  // Some traffic, a packet half-way through its descriptors, and a receive interrupt still pending.
  const f1 = ethFrame([1, 2, 3, 4, 5, 6], 120, 0x0800, 1);
  a.drv.putTxDesc(0, legacyDesc(a.drv.putTxBuf(0, f1), f1.length, CMD.EOP | CMD.RS));
  a.drv.putTxDesc(1, legacyDesc(a.drv.putTxBuf(1, f1.subarray(0, 50)), 50, 0));
  a.drv.bumpTdt(2);
  assert.equal(a.sent.length, 1);
  a.nic.receive(ethFrame(ME, 100));
  a.nic.receive(ethFrame(ME, 100));
  a.drv.r(R.ICR);
  a.nic.receive(ethFrame(ME, 100));
  assert.equal(a.bus.irq, false, 'RXT0 delayed by RDTR');

  const state = JSON.parse(JSON.stringify(a.nic.saveState())) as E1000State;

  // A new machine: guest memory restored by the emulator, the NIC from its state.
  const b = bench();
  b.bus.mem.set(a.bus.mem);
  b.nic.restoreState(state);
  const drv = new Driver(b.nic, b.bus);
  drv.txCount = 8;
  drv.setupTxTail(2);
  assert.equal(drv.r(R.TDH), 2);
  assert.equal(drv.r(R.RDH), 3);
  assert.equal(drv.r(R.IMS), ICR_BITS.RXT0 | ICR_BITS.TXDW);
  assert.equal(drv.r(R.RDTR), 100);
  assert.equal(drv.r(R.GPRC), 3, 'statistics carried over');
  // The pending RDTR timer was carried over too.
  b.clock.advance(0.2);
  assert.equal(b.bus.irq, true);
  assert.equal(drv.r(R.ICR) & ICR_BITS.RXT0, ICR_BITS.RXT0);

  // Finish the half-sent packet and send one more.
  drv.putTxDesc(2, legacyDesc(drv.putTxBuf(2, f1.subarray(50)), f1.length - 50, CMD.EOP | CMD.RS));
  const f2 = ethFrame([1, 2, 3, 4, 5, 6], 70, 0x0806, 2);
  drv.putTxDesc(3, legacyDesc(drv.putTxBuf(3, f2), f2.length, CMD.EOP | CMD.RS));
  drv.bumpTdt(2);
  assert.equal(b.sent.length, 2);
  assert.deepEqual(b.sent[0], f1);
  assert.deepEqual(b.sent[1], f2);

  // RX continues at descriptor 3.
  const g = ethFrame(ME, 300, 0x0800, 9);
  assert.ok(b.nic.receive(g));
  assert.equal(drv.rxDesc(3).length, 304);
  assert.deepEqual(drv.rxData(3, 300), g);

  // The EEPROM state and MAC survive too.
  assert.equal(drv.readEepromBitBang(0), MAC[0] | (MAC[1] << 8));
});

test('restore carries link state and a raised interrupt line', () => {
  const a = bench();
  a.drv.reset();
  a.drv.w(R.IMS, ICR_BITS.LSC);
  a.nic.setLinkUp(false);
  assert.equal(a.bus.irq, true);
  const state = JSON.parse(JSON.stringify(a.nic.saveState()));
  const bus = new FakeBus();
  const b = bench();
  const nic = new E1000({ mac: MAC, bus, clock: b.clock, probes: b.probes, transmit: () => {} });
  nic.restoreState(state);
  assert.equal(nic.linkUp, false);
  assert.equal(bus.irq, true);
  assert.equal(nic.mmioRead32(R.STATUS) & 2, 0);
  assert.equal(nic.mmioRead32(R.ICR), ICR_BITS.LSC);
  assert.equal(bus.irq, false);
});

test('a state of an unknown version is refused, not thrown', () => {
  const { nic } = bench();
  assert.doesNotThrow(() => nic.restoreState({ version: 9 } as unknown as E1000State));
  assert.equal(nic.refusals['restore-unknown-state-version'], 1);
});
