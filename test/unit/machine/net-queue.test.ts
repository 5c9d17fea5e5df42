import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetQueue } from '../../../extension/machine/net-queue';
import type { StageName } from '../../../extension/pipeline/stages';
import { bench, MAC } from '../e1000/harness';
import { ethFrame } from '../e1000/packets';

/** Frame n carries n in its first payload byte (after the Ethernet header). */
const frame = (n: number): Uint8Array => {
  const f = ethFrame(Array.from(MAC), 64, 0x0800, n);
  f[14] = n;
  return f;
};
const tag = (f: Uint8Array): number => f[14]!;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A real e1000 with 8 RX buffers behind a NetQueue; `received()` reads the tags back from the RX ring in ring order. */
function rxBench() {
  const b = bench();
  b.drv.reset();
  b.drv.setupRx(8);
  const queue = new NetQueue(b.probes);
  queue.attachNic((f) => b.nic.receive(f), (len) => b.nic.canReceive(len));
  const received = (): number[] => {
    const tags: number[] = [];
    for (let i = 0; i < 8 && b.drv.rxDesc(i).status & 1; i++) tags.push(b.drv.rxData(i, 15)[14]!);
    return tags;
  };
  return { ...b, queue, received };
}

/** A breakpoint at `stage` that holds the frames whose tag is in `tags`. */
function holdAt(probes: ReturnType<typeof bench>['probes'], stage: StageName, ...tags: number[]): void {
  probes.probes[stage].listen((hit) => (tags.includes(tag(hit.frame)) ? 'hold' : undefined));
}

for (const stage of ['qemu_receive_packet', 'e1000_receive_iov'] as const) {
  test(`a frame held at ${stage} stalls the frames behind it: 1, 2, 3 with 1 held reach the NIC as 1, 2, 3`, async () => {
    const { queue, probes, received } = rxBench();
    holdAt(probes, stage, 1);
    for (const n of [1, 2, 3]) queue.toNic(frame(n));
    await turn();
    await turn();
    assert.deepEqual(received(), [], 'nothing passes the held frame');
    assert.equal(probes.heldPackets.length, 1);
    assert.equal(queue.pending, 2, 'frames 2 and 3 wait in the queue');
    probes.releaseAll();
    await turn();
    assert.deepEqual(received(), [1, 2, 3]);
    assert.equal(queue.pending, 0);
  });
}

test('a frame held again on its way in after a release keeps the queue stalled (two breakpoints, then order kept)', async () => {
  const { queue, probes, received } = rxBench();
  holdAt(probes, 'qemu_receive_packet', 1);
  holdAt(probes, 'e1000_receive_iov', 1, 3);
  for (const n of [1, 2, 3, 4]) queue.toNic(frame(n));
  await turn();
  probes.releaseAll(); // 1 passes qemu_receive_packet, then stops at e1000_receive_iov
  await turn();
  assert.deepEqual(received(), []);
  probes.releaseAll(); // 1 lands, 2 follows, 3 stops at e1000_receive_iov
  await turn();
  assert.deepEqual(received(), [1, 2]);
  probes.releaseAll();
  await turn();
  assert.deepEqual(received(), [1, 2, 3, 4]);
});

test('frames from the guest behind one held at qemu_send_packet wait for it, then go in order', () => {
  const { probes } = bench();
  const queue = new NetQueue(probes);
  const sent: number[] = [];
  queue.attachBackend((f) => sent.push(tag(f)));
  holdAt(probes, 'qemu_send_packet', 1, 3);
  for (const n of [1, 2, 3, 4]) queue.fromNic(frame(n));
  assert.deepEqual(sent, []);
  probes.releaseAll();
  assert.deepEqual(sent, [1, 2], '3 is held in its turn, 4 waits behind it');
  queue.fromNic(frame(5));
  probes.releaseAll();
  assert.deepEqual(sent, [1, 2, 3, 4, 5]);
  assert.equal(queue.stats.toBackend, 5);
});

test('a frame a network condition takes (netem) does not stall the others: reordering is what was asked for', async () => {
  const { queue, probes, received } = rxBench();
  let release: (() => void) | undefined;
  probes.probes.qemu_receive_packet.condition({
    take: (hit, r) => {
      if (tag(hit.frame) !== 1) return false;
      release = r;
      return true;
    },
  });
  for (const n of [1, 2, 3]) queue.toNic(frame(n));
  await turn();
  assert.deepEqual(received(), [2, 3]);
  release!();
  assert.deepEqual(received(), [2, 3, 1]);
});
