import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StageChainTracker, trailStages } from '../../../extension/pipeline/stage-chain';
import type { StageName } from '../../../extension/pipeline/stages';

const EMPTY = new Uint8Array(0);
const frame = () => new Uint8Array(60);

test('a frame and the frames made from it share one trail, listed in stage order', () => {
  const t = new StageChainTracker();
  const a = t.note('soread', { stage: 'soread', frame: EMPTY, payload: new Uint8Array(4) });
  const f = frame();
  for (const s of ['tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet'] as StageName[]) assert.equal(t.note(s, { stage: s, frame: f }), a);
  assert.deepEqual(trailStages(a), ['soread', 'tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet']);
});

test('a stage that would go backwards starts a new trail; the directions keep their own', () => {
  const t = new StageChainTracker();
  const f = frame();
  const first = t.note('ip_output', { stage: 'ip_output', frame: f });
  const tx = t.note('slirp_input', { stage: 'slirp_input', frame: frame() });
  assert.notEqual(tx, first);
  assert.equal(t.note('if_output', { stage: 'if_output', frame: f }), first);
  const second = t.note('ip_output', { stage: 'ip_output', frame: f }); // the buffer reused for the next packet
  assert.notEqual(second, first);
  assert.deepEqual(trailStages(first), ['ip_output', 'if_output']);
  assert.deepEqual(trailStages(second), ['ip_output']);
  assert.deepEqual(trailStages(t.note('ip_input', { stage: 'ip_input', frame: frame() })), ['slirp_input', 'ip_input']);
});

test('a frame held by the net queue while others pass finds its own trail again', () => {
  const t = new StageChainTracker();
  const held = frame();
  const heldTrail = t.note('net_slirp_send_packet', { stage: 'net_slirp_send_packet', frame: held });
  for (let i = 0; i < 5; i++) {
    const other = frame();
    t.note('ip_output', { stage: 'ip_output', frame: other });
    t.note('net_slirp_send_packet', { stage: 'net_slirp_send_packet', frame: other });
  }
  assert.equal(t.note('qemu_receive_packet', { stage: 'qemu_receive_packet', frame: held }), heldTrail);
  assert.deepEqual(trailStages(heldTrail), ['net_slirp_send_packet', 'qemu_receive_packet']);
});

test('a trail seeded at a stop goes on with the held frame and the frames made from it', () => {
  const t = new StageChainTracker();
  const held = frame();
  const seeded = t.seed(['start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input'], { stage: 'ip_input', frame: held });
  assert.equal(t.note('tcp_input', { stage: 'tcp_input', frame: held }), seeded);
  assert.equal(t.note('sosend', { stage: 'sosend', frame: EMPTY, payload: new Uint8Array(3) }), seeded);
  assert.deepEqual(trailStages(seeded), ['start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input', 'sosend']);
  // The guest's next frame starts again at the NIC: its own trail.
  assert.notEqual(t.note('e1000_send_packet', { stage: 'e1000_send_packet', frame: frame() }), seeded);

  // Held with no frame (soread's bytes): the segment built from them continues it.
  const rx = t.seed(['soread'], { stage: 'soread', frame: EMPTY, payload: new Uint8Array(3) });
  assert.equal(t.note('tcp_output', { stage: 'tcp_output', frame: frame() }), rx);
  assert.deepEqual(trailStages(rx), ['soread', 'tcp_output']);
});
