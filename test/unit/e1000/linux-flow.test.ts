import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, CMD, legacyDesc, MAC, R, ICR_BITS } from './harness';
import { ethFrame } from './packets';

/** The order of operations of Linux's e1000 probe, open, xmit and interrupt handler. */
test('a Linux-like driver probes, brings the link up, and exchanges frames under interrupts', () => {
  const { drv, nic, bus, sent } = bench();
  // e1000_probe: reset, validate the EEPROM, read the MAC, find the PHY.
  drv.reset();
  let sum = 0;
  for (let i = 0; i < 64; i++) sum += drv.readEepromBitBang(i);
  assert.equal(sum & 0xffff, 0xbaba);
  const w = [0, 1, 2].map((i) => drv.readEepromBitBang(i));
  assert.deepEqual(w.flatMap((x) => [x & 0xff, x >> 8]), Array.from(MAC));
  const phyId = ((drv.mdicRead(2) << 16) | drv.mdicRead(3)) & 0xfffffff0;
  assert.equal(phyId >>> 0, 0x01410c20);

  // e1000_open: rings, RA[0], an empty multicast table, interrupts unmasked, LSC kick.
  for (let i = 0; i < 128; i++) drv.w(R.MTA + i * 4, 0);
  drv.w(R.RA, (MAC[0] | (MAC[1] << 8) | (MAC[2] << 16) | (MAC[3] << 24)) >>> 0);
  drv.w(R.RA + 4, (MAC[4] | (MAC[5] << 8) | 0x80000000) >>> 0);
  drv.setupTx(8);
  drv.setupRx(8);
  drv.w(R.ITR, 0);
  drv.w(R.IMS, ICR_BITS.RXT0 | ICR_BITS.TXDW | ICR_BITS.RXDMT0 | 0x8 | ICR_BITS.LSC);
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR), ICR_BITS.LSC);
  assert.equal(drv.r(R.STATUS) & 2, 2, 'the watchdog sees link up');

  // xmit: one ARP request with RS; the interrupt handler cleans the TX ring.
  const arp = ethFrame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 42, 0x0806);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, arp), 42, CMD.EOP | CMD.IFCS | CMD.RS));
  drv.bumpTdt(1);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].length, 60, 'padded (TCTL.PSP)');
  assert.equal(bus.irq, true);
  const icr = drv.r(R.ICR);
  assert.ok(icr & ICR_BITS.TXDW);
  assert.equal(bus.irq, false);
  assert.equal(drv.txStatus(0) & 1, 1);

  // The reply arrives: RXT0, the handler reads ICR, takes the frame and returns the buffer.
  const reply = ethFrame(Array.from(MAC), 60, 0x0806, 4);
  assert.ok(nic.receive(reply));
  assert.equal(bus.irq, true);
  assert.ok(drv.r(R.ICR) & ICR_BITS.RXT0);
  const d = drv.rxDesc(0);
  assert.equal(d.status & 3, 3);
  assert.deepEqual(drv.rxData(0, d.length - 4), reply);
  drv.w(R.RDT, 0);
  assert.equal(drv.r(R.RDT), 0);
  assert.equal(nic.stats.rxFrames, 1);
  assert.equal(nic.stats.txFrames, 1);
  assert.ok(nic.stats.interrupts >= 3);
  assert.deepEqual(nic.refusals, {});
});
