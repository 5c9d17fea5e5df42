/**
 * The packet pipeline on the real guest, driven the way `usernet run` drives
 * it: a BreakpointManager on the VM's probes, the VM paused at each stop
 * (CPU, clock, host sockets) and resumed on continue; a capture read back by
 * Wireshark's own tshark.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliCapture } from '../../extension/cli/capture';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { BreakpointManager, type StopEvent } from '../../extension/pipeline/breakpoints';
import { evaluateField } from '../../extension/pipeline/filter';
import { containmentProblem } from '../support/containment';
import { startGuest, sh } from '../support/guest';
import { md5, startDnsServer, startHttpServer, testFile } from '../support/host-servers';

const skip = containmentProblem();
const tsharkMissing = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error ? 'tshark not installed: apt-get install tshark' : undefined;
let vm: EmbeddedMachine;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let http: Awaited<ReturnType<typeof startHttpServer>>;
const tmp = mkdtempSync(join(tmpdir(), 'usernet-pipeline-'));
const BIG = testFile(3 * 1024 * 1024, 11);
const SMALL = testFile(20_000, 12);

before(async () => {
  if (skip) return;
  dns = await startDnsServer({ 'usernet.test': '10.9.8.7' });
  http = await startHttpServer({ '/big.bin': BIG, '/small.bin': SMALL });
  vm = await startGuest({ dnsPort: dns.port });
});
after(async () => {
  await vm?.stop();
  await dns?.close();
  await http?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** As the CLI's prompt does: every stop pauses the VM; `decide` says when to let it go. */
function manage(decide: (event: StopEvent, manager: BreakpointManager) => Promise<'continue' | 'step'>) {
  const manager = new BreakpointManager(vm.probes, { clock: vm.clock });
  const stops: StopEvent[] = [];
  const logs: string[] = [];
  const failures: unknown[] = [];
  manager.onLog = (m) => logs.push(m);
  manager.onStop = (event) => {
    stops.push(event);
    void (async () => {
      await vm.pause();
      const action = await decide(event, manager);
      if (action === 'step') manager.step();
      else manager.continue();
      if (!manager.stopped) await vm.resume();
    })().catch((e) => failures.push(e));
  };
  return { manager, stops, logs, failures };
}

test('conditional breakpoints, hit counts and logpoints on the guest', { skip, timeout: 120_000 }, async () => {
  const seen: Array<{ seq: string; paused: boolean }> = [];
  const m = manage(async (event) => {
    seen.push({ seq: evaluateField('icmp.seq', event.hit).display[0]!, paused: vm.paused });
    return 'continue';
  });
  try {
    const statuses = m.manager.set([
      // The second echo request to the gateway stops; replies and other hosts never do.
      { stage: 'icmp_input', condition: 'icmp.type == 8 && ip.dst == 10.0.2.2', hitCondition: '2' },
      { stage: 'icmp_input', condition: 'icmp.type == 8', logMessage: 'echo {icmp.seq} to {ip.dst}' },
      { stage: 'udp_input', condition: 'udp.dstport == 9' },
    ]);
    assert.deepEqual(statuses.map((s) => s.verified), [true, true, true]);
    const upstreamHits = () => [vm.probes.probes.slirp_input.hits, vm.probes.probes.ip_input.hits];
    const upstreamBefore = upstreamHits();
    const reachedSlirp = vm.probes.probes.slirp_input.packets;
    const out = await sh(vm, 'ping -c 4 -i 0.2 10.0.2.2 | tail -2', 60_000);
    assert.match(out, /4 packets transmitted, 4 packets received, 0% packet loss/);
    assert.deepEqual(m.failures, []);
    assert.equal(m.stops.length, 1, 'the hit condition stops only the second request');
    assert.equal(m.stops[0]!.breakpointId, statuses[0]!.id);
    assert.deepEqual(m.stops[0]!.stageChain, ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input']);
    assert.deepEqual(upstreamHits(), upstreamBefore, 'the stages upstream of the breakpoints were not probed');
    assert.ok(vm.probes.probes.slirp_input.packets >= reachedSlirp + 4, 'the stages upstream counted the frames all the same');
    assert.deepEqual(seen, [{ seq: '1', paused: true }]);
    assert.deepEqual(m.logs, ['echo 0 to 10.0.2.2', 'echo 1 to 10.0.2.2', 'echo 2 to 10.0.2.2', 'echo 3 to 10.0.2.2']);
  } finally {
    m.manager.dispose();
  }
});

test('a pause in the middle of a download loses no data', { skip, timeout: 240_000 }, async () => {
  const url = `http://10.0.2.2:${http.port}/big.bin`;
  let pausedFor = 0;
  let clockDuringPause = 0;
  let tableDuringPause = '';
  let socketsPaused = false;
  let segmentsToGuestDuringPause = -1;
  let segmentsToGuest = 0;
  let segmentsAtResume = 0;
  let segmentsFromGuest = 0;
  const unlisten = vm.probes.probes.tcp_output.listen(() => void segmentsToGuest++);
  const unlistenInput = vm.probes.probes.tcp_input.listen((hit) => void (hit.session?.hostPort === http.port && segmentsFromGuest++));
  const m = manage(async (_event, manager) => {
    tableDuringPause = vm.slirp!.infoUsernet();
    socketsPaused = vm.slirp!.paused;
    const clock0 = vm.clock.now();
    const t0 = performance.now();
    const segments0 = segmentsToGuest;
    await new Promise((r) => setTimeout(r, 3000));
    pausedFor = performance.now() - t0;
    segmentsToGuestDuringPause = segmentsToGuest - segments0;
    segmentsAtResume = segmentsToGuest;
    clockDuringPause = vm.clock.now() - clock0;
    manager.set([]);
    return 'continue';
  });
  try {
    await sh(vm, 'rm -f /tmp/big.bin');
    // The guest's segments of the download's flow (about 40 for 3 MiB at the jumbo MTU, ACKs in stretches): the 10th stops it mid-way.
    // The flow is matched by its NAT session: tcp_input sees the bare TCP segment, not an Ethernet frame.
    const [status] = m.manager.set([{ stage: 'tcp_input', condition: `session.host.port == ${http.port}`, hitCondition: '10' }]);
    assert.ok(status!.verified, status!.message);
    // One command, sent before the stop: serial input typed while the VM is paused is not what this test is about.
    const out = await sh(vm, `wget -q -O /tmp/big.bin ${url} && md5sum /tmp/big.bin`, 200_000);
    const md5sum = out.trim().split('\n').at(-1)!;
    assert.deepEqual(m.failures, []);
    assert.equal(m.stops.length, 1, `the download stopped once, mid-way (the guest sent ${segmentsFromGuest} segments of the flow)`);
    assert.ok(socketsPaused, 'host sockets were paused');
    assert.equal(segmentsToGuestDuringPause, 0, 'nothing was read from the host socket while paused');
    assert.ok(segmentsToGuest - segmentsAtResume > 100, `the download went on after the pause (${segmentsToGuest - segmentsAtResume} segments)`);
    assert.ok(pausedFor >= 2900, `paused ${pausedFor} ms`);
    assert.ok(clockDuringPause < 50, `the VM clock moved ${clockDuringPause} ms while paused`);
    assert.match(tableDuringPause, new RegExp(`TCP\\[ESTABLISHED\\]\\s+\\d+\\s+10\\.0\\.2\\.15\\s+\\d+\\s+10\\.0\\.2\\.2\\s+${http.port}`));
    assert.equal(md5sum.split(/\s+/)[0], md5(BIG), 'the file arrived whole');
    assert.equal(http.requests.filter((r) => r === '/big.bin').length, 1, 'one request: no retry after the pause');
  } finally {
    unlisten();
    unlistenInput();
    m.manager.dispose();
  }
});

test('a pcap of a guest session is read back by tshark with the expected protocols', { skip: skip ?? tsharkMissing, timeout: 120_000 }, async () => {
  const file = join(tmp, 'session.pcap');
  const capture = startCliCapture(vm.probes, { file });
  try {
    await sh(vm, 'ip neigh flush dev eth0; udhcpc -i eth0 -q -n >/dev/null 2>&1', 60_000);
    await sh(vm, `ping -c 2 -i 0.2 10.0.2.2 >/dev/null; nslookup usernet.test 10.0.2.3 >/dev/null; wget -q -O /tmp/small.bin http://10.0.2.2:${http.port}/small.bin`, 60_000);
  } finally {
    const line = await capture.stop();
    assert.match(line, /frames captured, 0 filtered, 0 truncated$/);
  }
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const frames = r.stdout.trim().split('\n');
  assert.equal(frames.length, capture.stats.captured, 'tshark reads every frame we counted');
  const protocols = new Set(frames.flatMap((f) => f.split(':')));
  for (const p of ['eth', 'arp', 'ip', 'udp', 'dhcp', 'icmp', 'dns', 'tcp', 'http']) assert.ok(protocols.has(p), `${p} in ${[...protocols].join(', ')}`);
  assert.ok(!protocols.has('_ws.malformed'), 'no malformed frame');
});
