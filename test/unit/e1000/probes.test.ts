import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyBench, CMD, contextDesc, dataDesc, legacyDesc, MAC, R, ICR_BITS } from './harness';
import { ethFrame, ipv4Frame, pattern } from './packets';
import type { ProbeHit } from '../../../extension/pipeline/probe';

test('e1000_mmio_write fires for every register write with offset and value', () => {
  const { drv, probes } = readyBench();
  const hits: ProbeHit[] = [];
  probes.probes.e1000_mmio_write.listen((h) => void hits.push(h));
  drv.w(R.IMS, 0x9d);
  drv.w(R.RDTR, 7);
  assert.deepEqual(hits.map((h) => h.register), [
    { offset: R.IMS, value: 0x9d, write: true },
    { offset: R.RDTR, value: 7, write: true },
  ]);
  assert.equal(hits[0].frame.length, 0);
});

test('TX probes: start_xmit, process_tx_desc with decoded fields, e1000_send_packet with the final frame', () => {
  const { drv, probes, sent } = readyBench();
  const log: string[] = [];
  const descs: ProbeHit[] = [];
  const out: ProbeHit[] = [];
  probes.probes.start_xmit.listen(() => void log.push('start_xmit'));
  probes.probes.process_tx_desc.listen((h) => {
    log.push('process_tx_desc');
    descs.push(h);
  });
  probes.probes.e1000_send_packet.listen((h) => {
    log.push('e1000_send_packet');
    out.push({ ...h, frame: h.frame.slice() });
  });
  const f = ipv4Frame({ payload: pattern(100), offload: 'csum' });
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucse: 0, tucmd: 3 }));
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, f), f.length, CMD.EOP | CMD.RS, 3));
  drv.bumpTdt(2);
  assert.deepEqual(log, ['start_xmit', 'process_tx_desc', 'process_tx_desc', 'e1000_send_packet']);
  assert.equal(descs[0].descriptor?.fields.kind, 'context');
  assert.equal(descs[1].descriptor?.fields.kind, 'data');
  assert.equal(descs[1].descriptor?.fields.length, f.length);
  assert.equal(descs[1].descriptor?.index, 1);
  assert.equal(descs[1].descriptor?.address, 0x10010);
  assert.deepEqual(descs[1].frame, f, 'the buffer as the guest wrote it');
  assert.deepEqual(out[0].frame, sent[0], 'the frame after checksum insertion');
  assert.equal(out[0].descriptor?.index, 1);
});

test('a packet held at e1000_send_packet resumes to completion, and the ring walk with it', () => {
  const { drv, probes, sent } = readyBench();
  let holdNext = true;
  probes.probes.e1000_send_packet.listen(() => {
    if (holdNext) {
      holdNext = false;
      return 'hold';
    }
  });
  const frames = [0, 1, 2].map((i) => ethFrame([1, 2, 3, 4, 5, 6], 80 + i, 0x0800, i));
  frames.forEach((f, i) => drv.putTxDesc(i, legacyDesc(drv.putTxBuf(i, f), f.length, CMD.EOP | CMD.RS)));
  drv.bumpTdt(3);
  assert.equal(sent.length, 0, 'held at the first frame');
  assert.equal(probes.heldPackets.length, 1);
  assert.equal(drv.txStatus(0) & 1, 0, 'not written back while held');
  // More work arrives while held: it waits its turn.
  const late = ethFrame([1, 2, 3, 4, 5, 6], 99, 0x0800, 9);
  drv.putTxDesc(3, legacyDesc(drv.putTxBuf(3, late), late.length, CMD.EOP | CMD.RS));
  drv.bumpTdt(1);
  assert.equal(sent.length, 0);
  probes.releaseAll();
  assert.deepEqual(sent, [...frames, late]);
  assert.equal(drv.r(R.TDH), 4);
  assert.ok([0, 1, 2, 3].every((i) => drv.txStatus(i) & 1));
});

test('a TSO packet held at its second segment resumes with the rest', () => {
  const { drv, probes, sent } = readyBench();
  let n = 0;
  probes.probes.e1000_send_packet.listen(() => (++n === 2 ? 'hold' : undefined));
  const payload = pattern(3000);
  const f = ipv4Frame({ payload, offload: 'tso' });
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucse: 0, tucmd: 7, paylen: 3000, hdrLen: 54, mss: 1000 }));
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, f), f.length, CMD.TSE | CMD.EOP | CMD.RS, 3));
  drv.bumpTdt(2);
  assert.equal(sent.length, 1);
  probes.releaseAll();
  assert.equal(sent.length, 3);
  assert.equal(drv.r(R.TDH), 2);
});

test('held at process_tx_desc and at start_xmit: resume carries on from the same descriptor', () => {
  const { drv, probes, sent } = readyBench();
  let holds = 0;
  const stopDesc = probes.probes.process_tx_desc.listen((h) => (h.descriptor?.index === 1 && holds++ === 0 ? 'hold' : undefined));
  const frames = [0, 1].map((i) => ethFrame([1, 2, 3, 4, 5, 6], 70, 0x0800, i));
  frames.forEach((f, i) => drv.putTxDesc(i, legacyDesc(drv.putTxBuf(i, f), f.length, CMD.EOP | CMD.RS)));
  drv.bumpTdt(2);
  assert.equal(sent.length, 1);
  assert.equal(drv.r(R.TDH), 1);
  probes.releaseAll();
  assert.deepEqual(sent, frames);
  stopDesc();

  const stopStart = probes.probes.start_xmit.listen(() => 'hold');
  const f = ethFrame([1, 2, 3, 4, 5, 6], 70, 0x0800, 5);
  drv.putTxDesc(2, legacyDesc(drv.putTxBuf(2, f), f.length, CMD.EOP));
  drv.bumpTdt(1);
  assert.equal(sent.length, 2);
  stopStart();
  probes.releaseAll();
  assert.equal(sent.length, 3);
});

test('a TDT write held at e1000_mmio_write is applied; the ring walk waits for resume', () => {
  const { drv, probes, sent } = readyBench();
  const stop = probes.probes.e1000_mmio_write.listen((h) => (h.register?.offset === R.TDT ? 'hold' : undefined));
  const f = ethFrame([1, 2, 3, 4, 5, 6], 70);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP));
  drv.bumpTdt(1);
  assert.equal(drv.r(R.TDT), 1);
  assert.equal(sent.length, 0);
  stop();
  probes.releaseAll();
  assert.equal(sent.length, 1);
});

test('e1000_receive_iov: a held frame is the caller\'s buffer, handed over, and is written on resume', () => {
  const { drv, probes, nic } = readyBench();
  const seen: Uint8Array[] = [];
  const stop = probes.probes.e1000_receive_iov.listen((h) => {
    seen.push(h.frame);
    return 'hold';
  });
  const buf = ethFrame(Array.from(MAC), 100, 0x0800, 1);
  const original = buf.slice();
  assert.equal(nic.receive(buf), true);
  assert.equal(drv.r(R.RDH), 0);
  // No copy: the probe (and the debugger) sees the very buffer the net queue handed over.
  assert.equal(seen.length, 1);
  assert.equal(seen[0], buf);
  stop();
  probes.releaseAll();
  assert.equal(drv.r(R.RDH), 1);
  assert.deepEqual(drv.rxData(0, 100), original);
  assert.equal(seen.length, 1, 'the released frame does not stop a second time');
});

test('set_ics fires with the cause bits; holding it delays the interrupt until resume', () => {
  const { drv, probes, bus, nic } = readyBench();
  drv.w(R.IMS, ICR_BITS.RXT0);
  const causes: number[] = [];
  const stop = probes.probes.set_ics.listen((h) => {
    assert.equal(h.register?.offset, R.ICR);
    causes.push(h.register?.value ?? -1);
    return 'hold';
  });
  nic.receive(ethFrame(Array.from(MAC), 100));
  assert.deepEqual(causes, [ICR_BITS.RXT0]);
  assert.equal(bus.irq, false);
  stop();
  probes.releaseAll();
  assert.equal(bus.irq, true);
  assert.equal(drv.r(R.ICR) & ICR_BITS.RXT0, ICR_BITS.RXT0);
});

test('a reset while a packet is held drops the held work', () => {
  const { drv, probes, sent } = readyBench();
  probes.probes.e1000_send_packet.listen(() => 'hold');
  const f = ethFrame([1, 2, 3, 4, 5, 6], 70);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP));
  drv.bumpTdt(1);
  drv.reset();
  probes.releaseAll();
  assert.equal(sent.length, 0);
});
