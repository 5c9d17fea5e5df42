import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, MAC, R, ICR_BITS } from './harness';
import { ethFrame, GW_MAC, pattern } from './packets';
import { ethernetCrc } from '../../../extension/e1000/fcs';

const ME = Array.from(MAC);
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function ready(count = 8, rctlExtra = 0) {
  const b = bench();
  b.drv.reset();
  b.drv.setupRx(count, rctlExtra);
  return b;
}

function crcOk(buf: Uint8Array, dataLen: number): boolean {
  const c = ethernetCrc(buf, dataLen);
  return buf[dataLen] === (c & 0xff) && buf[dataLen + 1] === ((c >>> 8) & 0xff) && buf[dataLen + 2] === ((c >>> 16) & 0xff) && buf[dataLen + 3] === c >>> 24;
}

test('a frame lands in the next buffer with DD, EOP, IXSM, its length including the FCS', () => {
  const { drv, nic } = ready();
  const f = ethFrame(ME, 200);
  assert.equal(nic.receive(f), true);
  const d = drv.rxDesc(0);
  assert.equal(d.length, 204);
  assert.equal(d.status & 0x7, 0x7);
  assert.deepEqual(drv.rxData(0, 200), f);
  assert.ok(crcOk(drv.rxData(0, 204), 200), 'FCS');
  assert.equal(drv.r(R.RDH), 1);
  assert.equal(drv.r(R.GPRC), 1);
  assert.equal(drv.r(R.GORCL), 204);
  assert.equal(drv.r(R.GORCH), 0);
});

test('short frames are padded to 60 bytes', () => {
  const { drv, nic } = ready();
  const f = ethFrame(ME, 42);
  nic.receive(f);
  assert.equal(drv.rxDesc(0).length, 64);
  assert.deepEqual(drv.rxData(0, 42), f);
  assert.ok(drv.rxData(0, 60).subarray(42).every((b) => b === 0));
  assert.equal(drv.r(R.PRC64), 1);
});

test('RX spanning descriptors with 256-byte buffers (RCTL.BSIZE)', () => {
  const { drv, nic } = ready(16, 3 << 16);
  const f = ethFrame(ME, 1000, 0x0800, 7);
  assert.ok(nic.receive(f));
  // 1004 bytes with FCS: 256 + 256 + 256 + 236.
  const lens = [0, 1, 2, 3].map((i) => drv.rxDesc(i).length);
  assert.deepEqual(lens, [256, 256, 256, 236]);
  assert.deepEqual([0, 1, 2, 3].map((i) => drv.rxDesc(i).status & 3), [1, 1, 1, 3], 'EOP only on the last');
  const joined = new Uint8Array(1004);
  for (let i = 0; i < 4; i++) joined.set(drv.rxData(i, lens[i]), i * 256);
  assert.deepEqual(joined.subarray(0, 1000), f);
  assert.ok(crcOk(joined, 1000));
  assert.equal(drv.r(R.RDH), 4);
});

test('buffer sizes from BSIZE/BSEX', async () => {
  const { rxBufferSize } = await import('../../../extension/e1000/rx');
  assert.equal(rxBufferSize(0), 2048);
  assert.equal(rxBufferSize(1 << 16), 1024);
  assert.equal(rxBufferSize(2 << 16), 512);
  assert.equal(rxBufferSize(3 << 16), 256);
  assert.equal(rxBufferSize((1 << 25) | (1 << 16)), 16384);
  assert.equal(rxBufferSize((1 << 25) | (2 << 16)), 8192);
  assert.equal(rxBufferSize((1 << 25) | (3 << 16)), 4096);
});

test('no free descriptors: frame missed, RNBC and MPC count, RXO raised', () => {
  const { drv, nic, probes } = ready(8);
  drv.w(R.IMS, ICR_BITS.RXO | ICR_BITS.RXT0);
  // 7 free descriptors (RDT = 7).
  for (let i = 0; i < 7; i++) assert.ok(nic.receive(ethFrame(ME, 100)));
  assert.equal(nic.receive(ethFrame(ME, 100)), false);
  assert.equal(drv.r(R.RNBC), 1);
  assert.equal(drv.r(R.MPC), 1);
  assert.ok(drv.r(R.ICR) & ICR_BITS.RXO);
  assert.deepEqual(probes.drops.snapshot(), [{ stage: 'e1000_receive_iov', reason: 'rx-ring-full', count: 1 }]);
  // The driver returns buffers: reception resumes.
  drv.w(R.RDT, 3);
  assert.ok(nic.receive(ethFrame(ME, 100)));
});

test('a frame too big for the free buffers is missed, not split into a half', () => {
  const { drv, nic } = ready(8, 3 << 16);
  drv.w(R.RDT, 2); // two 256-byte buffers free
  assert.equal(nic.receive(ethFrame(ME, 600)), false);
  assert.equal(drv.r(R.RDH), 0);
});

test('RXDMT0 when free descriptors fall to the RDMTS threshold (half by default)', () => {
  const { drv, nic } = ready(16);
  drv.w(R.RDT, 15);
  const causes: number[] = [];
  for (let i = 0; i < 8; i++) {
    nic.receive(ethFrame(ME, 80));
    causes.push(drv.r(R.ICR) & ICR_BITS.RXDMT0);
  }
  // Free after each frame: 14..7; threshold 16*16/2 bytes = 8 descriptors.
  assert.deepEqual(causes, [0, 0, 0, 0, 0, 0, 0x10, 0x10]);
});

test('oversize frames are dropped unless LPE, counted in ROC', () => {
  const { drv, nic, probes } = ready();
  assert.equal(nic.receive(ethFrame(ME, 1600)), false);
  assert.equal(drv.r(R.ROC), 1);
  assert.equal(probes.drops.count('rx-oversize', 'e1000_receive_iov'), 1);
  drv.w(R.RCTL, drv.r(R.RCTL) | (1 << 5) | (1 << 25) | (1 << 16)); // LPE, 16 KiB buffers
  assert.equal(nic.receive(ethFrame(ME, 1600)), true);
});

test('RX disabled or link down: dropped', () => {
  const { drv, nic, probes } = ready();
  drv.w(R.RCTL, 0);
  assert.equal(nic.receive(ethFrame(ME, 100)), false);
  drv.w(R.RCTL, 0x8002);
  nic.setLinkUp(false);
  assert.equal(nic.receive(ethFrame(ME, 100)), false);
  nic.setLinkUp(true);
  assert.equal(nic.receive(ethFrame(ME, 100)), true);
  assert.equal(nic.stats.rxDisabled, 2);
  assert.deepEqual(probes.drops.snapshot(), [{ stage: 'e1000_receive_iov', reason: 'rx-disabled', count: 2 }]);
});

test('filter: exact unicast (RAL/RAH), broadcast with BAM, others dropped', () => {
  const { drv, nic, probes } = ready();
  assert.ok(nic.receive(ethFrame(ME)));
  assert.ok(nic.receive(ethFrame(BCAST)));
  assert.equal(nic.receive(ethFrame([0x52, 0x54, 0, 0x12, 0x34, 0x57])), false);
  // A second exact address in RA[5].
  drv.w(R.RA + 5 * 8, 0x44332211);
  drv.w(R.RA + 5 * 8 + 4, 0x80006655);
  assert.ok(nic.receive(ethFrame([0x11, 0x22, 0x33, 0x44, 0x55, 0x66])));
  // Without Address Valid it no longer matches.
  drv.w(R.RA + 5 * 8 + 4, 0x00006655);
  assert.equal(nic.receive(ethFrame([0x11, 0x22, 0x33, 0x44, 0x55, 0x66])), false);
  // BAM off: broadcast dropped.
  drv.w(R.RCTL, 0x2);
  assert.equal(nic.receive(ethFrame(BCAST)), false);
  assert.equal(drv.r(R.BPRC), 1);
  assert.equal(nic.stats.rxFiltered, 3);
  assert.deepEqual(probes.drops.snapshot(), [{ stage: 'e1000_receive_iov', reason: 'rx-filtered', count: 3 }]);
});

test('filter: multicast hash with MO offsets, MPE, UPE', () => {
  const { drv, nic } = ready();
  const group = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
  assert.equal(nic.receive(ethFrame(group)), false);
  // Linux's hash for MO=0: bits 47:36 of the address.
  const hash = ((group[5] << 8) | group[4]) >> 4;
  drv.w(R.MTA + (hash >> 5) * 4, 1 << (hash & 31));
  assert.ok(nic.receive(ethFrame(group)));
  // MO=3 uses bits 43:32: a different bit, so the frame is dropped until set.
  drv.w(R.RCTL, drv.r(R.RCTL) | (3 << 12));
  assert.equal(nic.receive(ethFrame(group)), false);
  const h3 = ((group[5] << 8) | group[4]) & 0xfff;
  drv.w(R.MTA + (h3 >> 5) * 4, 1 << (h3 & 31));
  assert.ok(nic.receive(ethFrame(group)));
  assert.equal(drv.r(R.MPRC), 2);
  // MPE takes every multicast; UPE every unicast.
  const other = [0x33, 0x33, 0, 0, 0, 1];
  assert.equal(nic.receive(ethFrame(other)), false);
  drv.w(R.RCTL, drv.r(R.RCTL) | (1 << 4));
  assert.ok(nic.receive(ethFrame(other)));
  const stranger = [0x02, 0, 0, 0, 0, 9];
  assert.equal(nic.receive(ethFrame(stranger)), false);
  drv.w(R.RCTL, drv.r(R.RCTL) | (1 << 3));
  assert.ok(nic.receive(ethFrame(stranger)));
});

function tagged(dst: number[], vid: number, len = 100): Uint8Array {
  const f = pattern(len, 5);
  f.set(dst, 0);
  f.set(GW_MAC, 6);
  f.set([0x81, 0x00, (vid >> 8) | 0x20, vid & 0xff, 0x08, 0x00], 12);
  return f;
}

test('VLAN filter table with VFE; VME strips the tag into the special field with VP', () => {
  const { drv, nic } = ready();
  drv.w(R.RCTL, drv.r(R.RCTL) | (1 << 18)); // VFE
  assert.equal(nic.receive(tagged(ME, 100)), false);
  drv.w(R.VFTA + (100 >> 5) * 4, 1 << (100 & 31));
  assert.ok(nic.receive(tagged(ME, 100)));
  // Untagged frames are not subject to the VLAN table.
  assert.ok(nic.receive(ethFrame(ME)));
  // Tag kept without VME.
  assert.equal(drv.rxDesc(0).length, 104);
  assert.equal(drv.rxDesc(0).status & 0x8, 0);
  drv.w(R.CTRL, drv.r(R.CTRL) | (1 << 30));
  const f = tagged(ME, 100);
  assert.ok(nic.receive(f));
  const d = drv.rxDesc(2);
  assert.equal(d.length, 100);
  assert.equal(d.status & 0x8, 0x8, 'VP');
  assert.equal(d.special, 0x2064);
  const data = drv.rxData(2, 96);
  assert.deepEqual(data.subarray(0, 12), f.subarray(0, 12));
  assert.deepEqual(data.subarray(12), f.subarray(16));
});

test('descriptors with a null buffer address are skipped', () => {
  const { drv, nic, bus } = ready();
  new DataView(bus.mem.buffer).setUint32(0x40000, 0, true);
  assert.ok(nic.receive(ethFrame(ME, 100)));
  assert.equal(drv.rxDesc(0).length, 0);
  assert.equal(drv.rxDesc(0).status & 1, 1);
  assert.equal(drv.rxDesc(1).length, 104);
  assert.equal(drv.rxDesc(1).status & 3, 3);
});
