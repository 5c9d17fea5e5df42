import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyBench, CMD, contextDesc, dataDesc, legacyDesc, MAC, R, TX_RING } from './harness';
import { ethFrame } from './packets';

test('TX descriptor with length 0 is counted; the rest of the packet still goes', () => {
  const { drv, sent, nic } = readyBench();
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), 0, 0));
  drv.putTxDesc(1, legacyDesc(drv.putTxBuf(1, f), f.length, CMD.EOP | CMD.RS));
  drv.bumpTdt(2);
  assert.equal(nic.refusals['tx-desc-zero-length'], 1);
  assert.equal(sent.length, 1);
  assert.equal(drv.r(R.TDH), 2);
});

test('DMA outside guest RAM: TX buffer, TX ring, RX buffer, RX ring', () => {
  const { drv, sent, nic, probes } = readyBench();
  drv.putTxDesc(0, legacyDesc(0x7fff0000, 100, CMD.EOP | CMD.RS));
  drv.bumpTdt(1);
  assert.equal(sent.length, 0);
  assert.equal(drv.txStatus(0) & 1, 1, 'descriptor still completed');
  assert.equal(nic.refusals['dma-outside-ram'], 1);

  // RX buffer outside RAM: written back with RXE.
  new DataView(drv.bus.mem.buffer).setUint32(0x40000, 0xfff00000, true);
  assert.equal(nic.receive(ethFrame(Array.from(MAC), 100)), true);
  assert.equal(drv.rxDesc(0).errors & 0x80, 0x80);
  assert.equal(nic.refusals['dma-outside-ram'], 2);

  // Ring bases outside RAM.
  drv.w(R.TDBAL, 0xfff00000);
  drv.w(R.TDT, 2);
  drv.w(R.RDBAL, 0xfff00000);
  assert.equal(nic.receive(ethFrame(Array.from(MAC), 100)), false);
  assert.equal(nic.refusals['dma-outside-ram'], 4);
  drv.w(R.TDBAH, 1);
  drv.w(R.TDT, 3);
  assert.equal(nic.refusals['dma-outside-ram'], 5);
  // Only the lost frames are drops: the TX packet and the RX frame with no readable descriptor.
  assert.deepEqual(probes.drops.snapshot().map((d) => `${d.stage} ${d.reason} ${d.count}`), ['process_tx_desc tx-dma-outside-ram 1', 'e1000_receive_iov rx-dma-outside-ram 1']);
});

test('ring lengths not a multiple of 128: low bits ignored, counted', () => {
  const { drv, nic } = readyBench();
  drv.w(R.TDLEN, 8 * 16 + 5);
  assert.equal(drv.r(R.TDLEN), 128);
  drv.w(R.RDLEN, 100);
  assert.equal(drv.r(R.RDLEN), 0);
  assert.equal(nic.refusals['ring-length-not-multiple-of-128'], 2);
});

test('TDT/RDT/TDH beyond the ring are refused and nothing is walked', () => {
  const { drv, nic, sent } = readyBench();
  drv.w(R.TDT, 9);
  assert.equal(drv.r(R.TDT), 0);
  assert.equal(sent.length, 0);
  drv.w(R.RDT, 100);
  assert.equal(drv.r(R.RDT), 7);
  drv.w(R.TDH, 8);
  assert.equal(nic.refusals['tdt-beyond-ring'], 1);
  assert.equal(nic.refusals['rdt-beyond-ring'], 1);
  assert.equal(nic.refusals['tdh-beyond-ring'], 1);
  // A ring shrunk under its head: the walk refuses rather than running off.
  drv.setupTx(16);
  for (let i = 0; i < 12; i++) drv.putTxDesc(i, legacyDesc(0x20000, 60, CMD.EOP));
  drv.w(R.TDT, 12);
  assert.equal(sent.length, 12);
  drv.w(R.TDLEN, 128);
  drv.w(R.TDT, 3);
  assert.equal(nic.refusals['tx-ring-head-or-tail-beyond-ring'], 1);
  assert.equal(drv.r(R.TDH), 12);
  assert.equal(sent.length, 12);
});

test('reserved bits and reserved descriptor types are counted', () => {
  const { drv, nic, sent } = readyBench();
  drv.w(R.ITR, 0x12340010);
  assert.equal(drv.r(R.ITR), 0x10);
  drv.w(R.RDT, 0x10003);
  assert.equal(drv.r(R.RDT), 3);
  assert.equal(nic.refusals['reserved-bits-set'], 2);
  const d = dataDesc(0x20000, 64, CMD.EOP, 0);
  d[10] = (d[10] & 0x0f) | (5 << 4); // DTYP 5
  drv.putTxDesc(0, d);
  drv.bumpTdt(1);
  assert.equal(nic.refusals['tx-desc-reserved-type'], 1);
  assert.equal(sent.length, 0);
  drv.w(R.RCTL, (1 << 25) | 2);
  assert.equal(nic.refusals['rctl-reserved-buffer-size'], 1);
});

test('writes to read-only and unknown registers are counted and have no effect', () => {
  const { drv, nic } = readyBench();
  const st = drv.r(R.STATUS);
  drv.w(R.STATUS, 0);
  assert.equal(drv.r(R.STATUS), st);
  drv.w(R.GPRC, 55);
  assert.equal(drv.r(R.GPRC), 0);
  assert.equal(nic.refusals['write-to-read-only-register'], 2);
  drv.w(0x1fffc, 1);
  assert.equal(nic.refusals['write-to-unknown-register'], 1);
  nic.ioWrite32(0x20, 5);
  assert.equal(nic.ioRead32(0x24), 0);
  assert.equal(nic.refusals['io-bar-undefined-offset'], 2);
});

test('a TX packet over 64 KiB without TSO is dropped; so is TSO with MSS 0', () => {
  const { drv, nic, sent, probes } = readyBench();
  // Nine 8 KiB descriptors of one packet (73 KiB).
  drv.setupTx(16);
  for (let i = 0; i < 9; i++) drv.putTxDesc(i, legacyDesc(0x80000, 0x2000, i === 8 ? CMD.EOP | CMD.RS : 0));
  drv.bumpTdt(9);
  assert.equal(sent.length, 0);
  assert.equal(nic.refusals['tx-packet-too-large'], 1);
  assert.equal(drv.r(R.TDH), 9);
  drv.putTxDesc(9, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucse: 0, tucmd: 7, hdrLen: 54, mss: 0 }));
  drv.putTxDesc(10, dataDesc(0x80000, 200, CMD.TSE | CMD.EOP, 3));
  drv.bumpTdt(2);
  assert.equal(nic.refusals['tso-mss-zero'], 1);
  assert.equal(sent.length, 0);
  assert.deepEqual(probes.drops.snapshot().map((d) => `${d.stage} ${d.reason} ${d.count}`), ['process_tx_desc tx-packet-too-large 1', 'process_tx_desc tx-tso-bad-context 1']);
  // The next ordinary packet is unaffected.
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  drv.putTxDesc(11, legacyDesc(drv.putTxBuf(11, f), f.length, CMD.EOP));
  drv.bumpTdt(1);
  assert.deepEqual(sent, [f]);
});

test('garbage descriptors and register writes never throw and never hang', () => {
  const { drv, nic, bus } = readyBench();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  const offsets = [R.TDT, R.TDH, R.TDLEN, R.RDT, R.RDH, R.RDLEN, R.RCTL, R.TCTL, R.CTRL, R.ICS, R.IMS, R.EECD, R.MDIC, R.ITR, R.RDTR];
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 64; i++) bus.mem[TX_RING + (rnd() % 256)] = rnd() & 0xff;
    for (let i = 0; i < 16; i++) bus.mem[0x40000 + (rnd() % 256)] = rnd() & 0xff;
    const off = offsets[rnd() % offsets.length];
    const v = rnd() % 3 === 0 ? rnd() * 17 : rnd() % 16;
    assert.doesNotThrow(() => drv.w(off, off === R.CTRL ? v & ~(1 << 26) : v));
    assert.doesNotThrow(() => nic.receive(ethFrame(Array.from(MAC), 60 + (rnd() % 1500))));
    assert.doesNotThrow(() => drv.r(R.ICR));
  }
  assert.ok(Object.keys(nic.refusals).length > 0);
});
