import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../../../extension/pipeline/filter';
import type { ProbeHit } from '../../../../extension/pipeline/probe';
import { pattern } from './support/harness';
import { HostServer } from './support/host-server';
import { SlirpGuest } from './support/slirp-guest';

// Breakpoint conditions are written against whole frames (tcp.dstport, ip.src...):
// the TCP stages must show the frame a segment travels in, not the bare segment.
test('through the real Slirp, tcp_input and tcp_output hits carry whole Ethernet frames that filters match', async () => {
  const server = new HostServer((s) => s.end(pattern(20_000, 3)));
  const port = await server.start();
  const net = new SlirpGuest();
  const inputs: ProbeHit[] = [];
  const outputs: ProbeHit[] = [];
  const probes = net.slirp.probes;
  probes.probes.tcp_input.listen((h) => void inputs.push({ ...h, frame: h.frame.slice() }));
  probes.probes.tcp_output.listen((h) => void outputs.push({ ...h, frame: h.frame.slice() }));
  try {
    const g = net.connect(port, { mss: 1460, timestamps: true });
    await net.run(() => g.finReceived, 'the download');
    const toHost = compileFilter(`ip.src == 10.0.2.15 && ip.dst == 10.0.2.2 && tcp.dstport == ${port}`);
    const toGuest = compileFilter(`eth.src == 52:55:0a:00:02:02 && ip.dst == 10.0.2.15 && tcp.srcport == ${port} && tcp.len > 0`);
    assert.ok(inputs.length > 0 && inputs.every((h) => toHost.matches(h)), 'every tcp_input hit is the guest frame');
    assert.ok(outputs.some((h) => toGuest.matches(h)), 'tcp_output hits carry data frames with real headers');
    assert.ok(outputs.every((h) => compileFilter('tcp').matches(h)));
  } finally {
    await net.close();
    await server.stop();
  }
});
