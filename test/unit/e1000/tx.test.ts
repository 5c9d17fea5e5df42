import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, CMD, contextDesc, dataDesc, legacyDesc, R, ICR_BITS } from './harness';
import { be16, be32, csum, ethFrame, ipChecksumOk, ipv4Frame, l4ChecksumOk, pattern } from './packets';

function ready() {
  const b = bench();
  b.drv.reset();
  b.drv.setupTx(8);
  b.drv.w(R.IMS, ICR_BITS.TXDW);
  return b;
}

test('legacy descriptors: frames leave in order across the ring wrap, DD written only where RS asks', () => {
  const { drv, sent, nic } = ready();
  const frames: Uint8Array[] = [];
  // 12 single-descriptor frames through an 8-slot ring, in batches of 3 so TDT wraps.
  for (let batch = 0; batch < 4; batch++) {
    for (let k = 0; k < 3; k++) {
      const n = batch * 3 + k;
      const slot = (drv.tail + k) % 8;
      const f = ethFrame([0x52, 0x55, 0x0a, 0, 2, 2], 100 + n, 0x0800, n);
      frames.push(f);
      drv.putTxDesc(slot, legacyDesc(drv.putTxBuf(slot, f), f.length, CMD.EOP | CMD.IFCS | (k === 2 ? CMD.RS : 0)));
    }
    const rsSlot = (drv.tail + 2) % 8;
    const plainSlot = drv.tail;
    drv.bumpTdt(3);
    assert.equal(drv.r(R.TDH), drv.tail);
    assert.equal(drv.txStatus(rsSlot) & 1, 1, 'DD on the RS descriptor');
    assert.equal(drv.txStatus(plainSlot) & 1, 0, 'no DD without RS');
    drv.bus.mem[0x10000 + rsSlot * 16 + 12] = 0;
  }
  assert.equal(sent.length, 12);
  sent.forEach((f, i) => assert.deepEqual(f, frames[i]));
  assert.equal(nic.stats.txFrames, 12);
  assert.equal(drv.r(R.GPTC), 12);
  assert.equal(drv.r(R.GPTC), 0, 'statistics clear on read');
  assert.equal(drv.r(R.ICR) & 3, 3, 'TXDW and TXQE');
});

test('a packet spread over several legacy descriptors is sent as one frame; short frames padded to 60', () => {
  const { drv, sent } = ready();
  const f = ethFrame([1, 2, 3, 4, 5, 6], 300);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f.subarray(0, 14)), 14, 0));
  drv.putTxDesc(1, legacyDesc(drv.putTxBuf(1, f.subarray(14, 200)), 186, 0));
  drv.putTxDesc(2, legacyDesc(drv.putTxBuf(2, f.subarray(200)), 100, CMD.EOP | CMD.RS));
  const short = ethFrame([1, 2, 3, 4, 5, 6], 42);
  drv.putTxDesc(3, legacyDesc(drv.putTxBuf(3, short), 42, CMD.EOP));
  drv.bumpTdt(4);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], f);
  assert.equal(sent[1].length, 60);
  assert.deepEqual(sent[1].subarray(0, 42), short);
  assert.ok(sent[1].subarray(42).every((b) => b === 0));
});

test('legacy IC inserts a checksum from CSS to the end at CSO', () => {
  const { drv, sent } = ready();
  const f = ipv4Frame({ payload: pattern(33), udp: true, offload: 'csum' });
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP | CMD.IC, { css: 34, cso: 40 }));
  drv.bumpTdt(1);
  assert.ok(l4ChecksumOk(sent[0]));
});

test('context + data descriptors: IP and TCP checksums inserted', () => {
  const { drv, sent } = ready();
  const f = ipv4Frame({ payload: pattern(501), offload: 'csum' });
  assert.ok(!ipChecksumOk(f));
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucse: 0, tucmd: 0x01 | 0x02 }));
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, f.subarray(0, 54)), 54, CMD.IFCS, 0x3));
  drv.putTxDesc(2, dataDesc(drv.putTxBuf(2, f.subarray(54)), f.length - 54, CMD.EOP | CMD.IFCS | CMD.RS, 0));
  drv.bumpTdt(3);
  assert.equal(sent.length, 1);
  assert.ok(ipChecksumOk(sent[0]), 'IP header checksum');
  assert.ok(l4ChecksumOk(sent[0]), 'TCP checksum');
  assert.deepEqual(sent[0].subarray(54), f.subarray(54));
});

test('UDP checksum offload writes 0xffff instead of zero', () => {
  const { drv, sent } = ready();
  // Find a payload whose UDP checksum is zero, computed independently.
  let f = ipv4Frame({ payload: new Uint8Array([0, 0]), udp: true });
  for (let v = 0; v < 0x10000; v++) {
    f = ipv4Frame({ payload: new Uint8Array([v >> 8, v & 0xff]), udp: true });
    const c = new Uint8Array(f);
    c[40] = c[41] = 0;
    const pseudo = new Uint8Array([10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 10, ...c.subarray(34, 44)]);
    if (csum(pseudo) === 0) break;
  }
  const o = ipv4Frame({ payload: f.subarray(42, 44), udp: true, offload: 'csum' });
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 40, tucse: 0, tucmd: 0x02 }));
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, o), o.length, CMD.EOP, 0x2));
  drv.bumpTdt(2);
  assert.equal(be16(sent[0], 40), 0xffff);
});

test('TSO: segments patched byte for byte, PSH/FIN only on the last', () => {
  const { drv, sent, nic } = ready();
  const payload = pattern(4000, 9);
  const mss = 1460;
  const f = ipv4Frame({ payload, id: 0x4000, seq: 0xfffff000, flags: 0x19 /* FIN PSH ACK */, offload: 'tso' });
  const hdr = 54;
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucse: 0, tucmd: 0x01 | 0x02 | 0x04, paylen: payload.length, hdrLen: hdr, mss }));
  // Header in its own descriptor, payload split unevenly over three more.
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, f.subarray(0, hdr)), hdr, CMD.TSE, 0x3));
  drv.putTxDesc(2, dataDesc(drv.putTxBuf(2, f.subarray(hdr, hdr + 1000)), 1000, CMD.TSE, 0x3));
  drv.putTxDesc(3, dataDesc(drv.putTxBuf(3, f.subarray(hdr + 1000, hdr + 3500)), 2500, CMD.TSE, 0x3));
  drv.putTxDesc(4, dataDesc(drv.putTxBuf(4, f.subarray(hdr + 3500)), 500, CMD.TSE | CMD.EOP | CMD.RS, 0x3));
  drv.bumpTdt(5);
  assert.equal(sent.length, 3);
  const sizes = [1460, 1460, 1080];
  let off = 0;
  sent.forEach((s, k) => {
    assert.equal(s.length, hdr + sizes[k]);
    assert.deepEqual(s.subarray(0, 14), f.subarray(0, 14), 'ethernet header copied');
    assert.equal(be16(s, 16), 40 + sizes[k], 'IP total length');
    assert.equal(be16(s, 18), 0x4000 + k, 'IP id');
    assert.equal(be32(s, 38), (0xfffff000 + off) >>> 0, 'TCP sequence (wraps)');
    assert.equal(be32(s, 42), 5000, 'ack unchanged');
    assert.equal(s[47], k === 2 ? 0x19 : 0x10, 'PSH/FIN only on the last');
    assert.ok(ipChecksumOk(s), `IP checksum of segment ${k}`);
    assert.ok(l4ChecksumOk(s), `TCP checksum of segment ${k}`);
    assert.deepEqual(s.subarray(hdr), payload.subarray(off, off + sizes[k]));
    off += sizes[k];
  });
  assert.equal(drv.txStatus(4) & 1, 1);
  assert.equal(nic.stats.tsoPackets, 1);
  assert.equal(drv.r(R.TSCTC), 1);
});

test('TSO over UDP patches the UDP length of each segment', () => {
  const { drv, sent } = ready();
  const payload = pattern(2500, 4);
  const f = ipv4Frame({ payload, udp: true, offload: 'tso' });
  drv.putTxDesc(0, contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 40, tucse: 0, tucmd: 0x02 | 0x04, paylen: 2500, hdrLen: 42, mss: 1000 }));
  drv.putTxDesc(1, dataDesc(drv.putTxBuf(1, f), f.length, CMD.TSE | CMD.EOP, 0x3));
  drv.bumpTdt(2);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((s) => be16(s, 38)), [1008, 1008, 508]);
  for (const s of sent) {
    assert.ok(ipChecksumOk(s));
    assert.ok(l4ChecksumOk(s));
  }
});

test('VLAN insertion with CTRL.VME and VLE: tag from VET and the special field', () => {
  const { drv, sent } = ready();
  drv.w(R.CTRL, drv.r(R.CTRL) | (1 << 30));
  const f = ethFrame([1, 2, 3, 4, 5, 6], 80);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP | CMD.VLE, { special: 0x2064 }));
  // Without VME the tag is not inserted.
  drv.putTxDesc(1, legacyDesc(drv.putTxBuf(1, f), f.length, CMD.EOP));
  drv.bumpTdt(2);
  assert.equal(sent[0].length, 84);
  assert.deepEqual(sent[0].subarray(0, 12), f.subarray(0, 12));
  assert.equal(be16(sent[0], 12), 0x8100);
  assert.equal(be16(sent[0], 14), 0x2064);
  assert.deepEqual(sent[0].subarray(16), f.subarray(12));
  assert.deepEqual(sent[1], f);
});

test('TX does nothing while TCTL.EN is clear, then catches up when enabled', () => {
  const { drv, sent } = ready();
  drv.w(R.TCTL, 0x8);
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP));
  drv.bumpTdt(1);
  assert.equal(sent.length, 0);
  drv.w(R.TCTL, 0xa);
  assert.equal(sent.length, 1);
});

test('link down: frames are consumed but not sent', () => {
  const { drv, sent, nic, probes } = ready();
  nic.setLinkUp(false);
  const f = ethFrame([1, 2, 3, 4, 5, 6], 64);
  drv.putTxDesc(0, legacyDesc(drv.putTxBuf(0, f), f.length, CMD.EOP | CMD.RS));
  drv.bumpTdt(1);
  assert.equal(sent.length, 0);
  assert.equal(drv.r(R.TDH), 1);
  assert.equal(nic.stats.txDropped, 1);
  assert.deepEqual(probes.drops.snapshot(), [{ stage: 'e1000_send_packet', reason: 'tx-link-down', count: 1 }]);
});
