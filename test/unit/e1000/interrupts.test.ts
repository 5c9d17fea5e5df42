import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, CMD, legacyDesc, MAC, R, ICR_BITS } from './harness';
import { ethFrame } from './packets';

const ME = Array.from(MAC);
const US = 1e-3; // one microsecond in clock ms

test('ICS sets causes, ICR reads them and clears, IMS/IMC gate the line', () => {
  const { drv, bus } = bench();
  drv.reset();
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(bus.irq, false, 'masked');
  assert.equal(drv.r(R.ICS) & ICR_BITS.LSC, ICR_BITS.LSC, 'ICS reads as ICR');
  drv.w(R.IMS, ICR_BITS.LSC | ICR_BITS.RXT0);
  assert.equal(bus.irq, true, 'unmasking a pending cause raises the line');
  assert.equal(drv.r(R.IMS), ICR_BITS.LSC | ICR_BITS.RXT0);
  drv.w(R.IMC, ICR_BITS.LSC);
  assert.equal(bus.irq, false, 'masking lowers it');
  assert.equal(drv.r(R.IMS), ICR_BITS.RXT0);
  drv.w(R.IMS, ICR_BITS.LSC);
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR), ICR_BITS.LSC);
  assert.equal(bus.irq, false, 'reading ICR clears it');
  assert.equal(drv.r(R.ICR), 0);
  // Writing ones to ICR clears those bits only.
  drv.w(R.ICS, ICR_BITS.LSC | ICR_BITS.TXQE);
  drv.w(R.ICR, ICR_BITS.LSC);
  assert.equal(drv.r(R.ICR), ICR_BITS.TXQE);
});

test('link down/up: STATUS.LU and PHY status follow, LSC raised', () => {
  const { drv, nic, bus } = bench();
  drv.reset();
  drv.w(R.IMS, ICR_BITS.LSC);
  nic.setLinkUp(false);
  assert.equal(nic.linkUp, false);
  assert.equal(drv.r(R.STATUS) & 2, 0);
  assert.equal(drv.mdicRead(1) & 0x4, 0);
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR) & ICR_BITS.LSC, ICR_BITS.LSC);
  nic.setLinkUp(true);
  assert.equal(drv.r(R.STATUS) & 2, 2);
  assert.ok(drv.mdicRead(1) & 0x24);
  assert.equal(drv.r(R.ICR) & ICR_BITS.LSC, ICR_BITS.LSC);
  nic.setLinkUp(true);
  assert.equal(drv.r(R.ICR), 0, 'no change, no LSC');
});

test('ITR: a second rising edge waits ITR x 256 ns after the previous one', () => {
  const { drv, bus, clock } = bench();
  drv.reset();
  drv.w(R.ITR, 1000); // 256 us
  drv.w(R.IMS, ICR_BITS.LSC);
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(bus.irqEdges, 1);
  drv.r(R.ICR);
  clock.advance(100 * US);
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(bus.irq, false, 'throttled');
  clock.advance(155 * US);
  assert.equal(bus.irq, false);
  clock.advance(2 * US);
  assert.equal(bus.irq, true, 'raised at 256 us');
  assert.equal(bus.irqEdges, 2);
  drv.r(R.ICR);
  // ITR = 0: no throttling.
  drv.w(R.ITR, 0);
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(bus.irq, true);
});

function rxBench() {
  const b = bench();
  b.drv.reset();
  b.drv.setupRx(16);
  b.drv.w(R.RDT, 15);
  b.drv.w(R.IMS, ICR_BITS.RXT0);
  return b;
}

test('RDTR: RXT0 waits RDTR x 1024 ns after the last frame, restarting on each', () => {
  const { drv, nic, bus, clock } = rxBench();
  drv.w(R.RDTR, 100); // 102.4 us
  nic.receive(ethFrame(ME));
  clock.advance(80 * US);
  assert.equal(bus.irq, false);
  nic.receive(ethFrame(ME));
  clock.advance(80 * US);
  assert.equal(bus.irq, false, 'restarted by the second frame');
  clock.advance(23 * US);
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR) & ICR_BITS.RXT0, ICR_BITS.RXT0);
});

test('RADV caps the delay from the first frame; RDTR = 0 means at once', () => {
  const { drv, nic, bus, clock } = rxBench();
  drv.w(R.RDTR, 100);
  drv.w(R.RADV, 200); // 204.8 us
  for (let i = 0; i < 4; i++) {
    nic.receive(ethFrame(ME));
    clock.advance(60 * US);
  }
  // 240 us after the first frame: RADV fired at 204.8 although RDTR kept restarting.
  assert.equal(bus.irq, true);
  drv.r(R.ICR);
  drv.w(R.RDTR, 0);
  nic.receive(ethFrame(ME));
  assert.equal(bus.irq, true);
});

test('RDTR.FPD flushes a pending receive interrupt', () => {
  const { drv, nic, bus } = rxBench();
  drv.w(R.RDTR, 1000);
  nic.receive(ethFrame(ME));
  assert.equal(bus.irq, false);
  drv.w(R.RDTR, 1000 | 0x80000000);
  assert.equal(bus.irq, true);
});

test('TIDV/TADV delay TXDW for descriptors with IDE; without IDE it is immediate', () => {
  const { drv, bus, clock } = bench();
  drv.reset();
  drv.setupTx(8);
  drv.w(R.IMS, ICR_BITS.TXDW);
  drv.w(R.TIDV, 50); // 51.2 us
  drv.w(R.TADV, 120); // 122.88 us
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  const send = (slot: number, cmd: number) => {
    drv.putTxDesc(slot, legacyDesc(drv.putTxBuf(slot, f), f.length, cmd));
    drv.bumpTdt(1);
  };
  send(0, CMD.EOP | CMD.RS | CMD.IDE);
  assert.equal(bus.irq, false);
  clock.advance(40 * US);
  send(1, CMD.EOP | CMD.RS | CMD.IDE);
  clock.advance(40 * US);
  send(2, CMD.EOP | CMD.RS | CMD.IDE);
  clock.advance(40 * US);
  assert.equal(bus.irq, false, '120 us: the relative timer kept restarting');
  clock.advance(3 * US);
  assert.equal(bus.irq, true, 'TADV fired at 122.88 us');
  drv.r(R.ICR);
  send(3, CMD.EOP | CMD.RS);
  assert.equal(bus.irq, true, 'no IDE: immediate');
});

test('causes waiting on TIDV or RDTR are reported with an interrupt raised for another cause, and do not raise a second one', () => {
  const { drv, nic, bus, clock } = bench();
  drv.reset();
  drv.setupTx(8);
  drv.setupRx(8);
  drv.w(R.IMS, ICR_BITS.TXDW | ICR_BITS.RXT0 | ICR_BITS.LSC);
  drv.w(R.TIDV, 8);
  drv.w(R.TADV, 32);
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP | CMD.RS | CMD.IDE));
  drv.bumpTdt(1);
  assert.equal(bus.irq, false, 'TXDW waits on TIDV');
  nic.receive(ethFrame(ME)); // RDTR = 0: RXT0 at once
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR) & (ICR_BITS.TXDW | ICR_BITS.RXT0), ICR_BITS.TXDW | ICR_BITS.RXT0, 'one interrupt reports both');
  clock.advance(100 * US);
  assert.equal(bus.irq, false, 'the TX timer was spent: no second interrupt');
  assert.equal(bus.irqEdges, 1);

  // The same for a receive delay when a TX cause raises the line.
  drv.w(R.RDTR, 100);
  nic.receive(ethFrame(ME));
  assert.equal(bus.irq, false, 'RXT0 waits on RDTR');
  drv.w(R.ICS, ICR_BITS.LSC);
  assert.equal(drv.r(R.ICR) & (ICR_BITS.RXT0 | ICR_BITS.LSC), ICR_BITS.RXT0 | ICR_BITS.LSC);
  clock.advance(200 * US);
  assert.equal(bus.irqEdges, 2);
});

test('reset lowers the line and stops pending timers', () => {
  const { drv, nic, bus, clock } = rxBench();
  drv.w(R.RDTR, 100);
  nic.receive(ethFrame(ME));
  drv.w(R.ICS, ICR_BITS.RXT0);
  assert.equal(bus.irq, true);
  drv.reset();
  assert.equal(bus.irq, false);
  clock.advance(1);
  assert.equal(drv.r(R.ICR), 0);
});
