import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { captureComment } from '../../../extension/pipeline/journey';
import { JourneyRecorder } from '../../../extension/pipeline/journey-recorder';
import { attachCapture, captureFormatOf } from '../../../extension/pipeline/capture';
import { eth, HOST_IP, icmpEcho, ipv4 } from '../slirp/helpers/frames';
import { makeGuest } from '../slirp/helpers/harness';

const tsharkMissing = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error ? 'tshark not installed: apt-get install tshark' : undefined;

/** A ping to the gateway captured at slirp's edge (as under QEMU) into `file`, each frame commented with its journey. */
async function capturePing(file: string): Promise<void> {
  const g = makeGuest();
  const recorder = new JourneyRecorder(g.probes, { clock: g.clock, engine: 'qemu' });
  const stop = recorder.start();
  const capture = attachCapture(g.probes, { file, engine: 'qemu', annotate: (hit) => captureComment(hit.stage, recorder.journeyOf(hit.frame)) });
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3]) })));
  await capture.stop();
  stop();
  await g.slirp.close();
}

test('the file name decides the format: .pcapng is pcapng, anything else classic pcap', () => {
  assert.equal(captureFormatOf('x.pcapng'), 'pcapng');
  assert.equal(captureFormatOf('X.PCAPNG'), 'pcapng');
  assert.equal(captureFormatOf('x.pcap'), 'pcap');
  assert.equal(captureFormatOf('capture'), 'pcap');
});

test('pcapng: a section, an interface per capture point, one enhanced packet block per frame, lengths that add up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-pcapng-'));
  try {
    const file = join(dir, 'ping.pcapng');
    await capturePing(file);
    const b = readFileSync(file);
    const types: number[] = [];
    for (let off = 0; off < b.length;) {
      const type = b.readUInt32LE(off);
      const len = b.readUInt32LE(off + 4);
      assert.ok(len % 4 === 0 && len >= 12, `block at ${off}: length ${len}`);
      assert.equal(b.readUInt32LE(off + len - 4), len, 'the trailing length repeats the leading one');
      types.push(type);
      off += len;
    }
    // SHB, then the TX interface and its frame, then the RX interface and its frame.
    assert.deepEqual(types, [0x0a0d0d0a, 1, 6, 1, 6]);
    assert.equal(b.readUInt32LE(8), 0x1a2b3c4d);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tshark reads our pcapng: interfaces named after the stages, comments with journey, reply and stage', { skip: tsharkMissing }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-pcapng-'));
  try {
    const file = join(dir, 'ping.pcapng');
    await capturePing(file);
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'icmp.type', '-e', 'frame.comment'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, 2, r.stdout);
    const [request, reply] = rows as [string[], string[]];
    assert.deepEqual(request.slice(0, 2), ['net_slirp_receive', '8']);
    assert.match(request[2]!, /^stage net_slirp_receive; journey (\d+)$/);
    const id = /journey (\d+)/.exec(request[2]!)![1];
    assert.deepEqual(reply.slice(0, 2), ['net_slirp_send_packet', '0']);
    assert.match(reply[2]!, new RegExp(`^stage net_slirp_send_packet; journey \\d+; reply to ${id}$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
