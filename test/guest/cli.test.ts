/**
 * The `usernet` command as users run it: `node bin/usernet.js` (the built
 * dist/cli.js) in a child process, inside the test's private network namespace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { containmentProblem } from '../support/containment';

const skip = containmentProblem();
const tsharkMissing = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error ? 'tshark not installed: apt-get install tshark' : undefined;
const BIN = resolve(__dirname, '../../bin/usernet.js');
const DIST = resolve(__dirname, '../../dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'usernet-cli-'));
/** The runs' control sockets live here, apart from any other usernet on this machine. */
const env = { ...process.env, XDG_RUNTIME_DIR: tmp, USERNET_DEBUG: '' };

before(() => {
  assert.ok(existsSync(DIST), `${DIST} is missing: run \`npm run build\` first (npm run test:guest does)`);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function usernet(args: string[], opts: { input?: string; timeoutMs?: number; onStart?: (pid: number) => void } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  opts.onStart?.(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (opts.input !== undefined) child.stdin.end(opts.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((done) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    }),
  );
}

const show = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test('--exec runs a command in the guest and prints its output', { skip, timeout: 180_000 }, async () => {
  const r = await usernet(['run', '--exec', 'uname -m; cat /proc/cmdline']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /^i686$/m);
  assert.match(r.stdout, /console=ttyS0/);
  assert.match(r.stderr, /guest ready in [\d.]+ s/);
});

test("--exec exits with the command's status", { skip, timeout: 120_000 }, async () => {
  const r = await usernet(['run', '-q', '--exec', 'exit 3']);
  assert.equal(r.status, 3, show(r));
});

test('bad arguments exit 2 with one line and no stack trace', { timeout: 60_000 }, async () => {
  const cases: Array<[string[], RegExp]> = [
    [['run', '--trace', 'udp_inptu'], /^usernet: --trace 'udp_inptu': unknown stage 'udp_inptu' \(did you mean 'udp_input'\?\)\n$/],
    [['run', '--pcap', join(tmp, 'x.pcap'), '--capture-filter', 'udp.port == '], /^usernet: --capture-filter 'udp\.port == ': .* at column 13\n$/],
    [['run', '--bogus'], /^usernet: Unknown option '--bogus'.*\n$/],
    [['run', '--timeout', 'soon'], /^usernet: --timeout expects a positive number, got 'soon'\n$/],
  ];
  for (const [args, stderr] of cases) {
    const r = await usernet(args);
    assert.equal(r.status, 2, show(r));
    assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('--timeout ends a run that takes too long with exit 124 and says so', { skip, timeout: 60_000 }, async () => {
  const t0 = performance.now();
  const r = await usernet(['run', '--timeout', '1', '--no-snapshot']);
  assert.equal(r.status, 124, show(r));
  assert.match(r.stderr, /timed out after 1 s \(--timeout\); stopping the VM/);
  assert.ok(performance.now() - t0 < 20_000, 'the timeout does not wait for the boot');
});

/** The guest's prompt (its shell may follow it with a cursor-position query and a new line). */
const PROMPT = /usernet:[^\r\n#]*# /;

test('run shows the guest prompt with no key pressed, on a cold boot and on a restore', { skip, timeout: 240_000 }, async () => {
  // The --exec test above left a snapshot: the second run restores it.
  for (const args of [['run', '--no-snapshot'], ['run']]) {
    const child = spawn(process.execPath, [BIN, ...args, '--timeout', '120'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise((r) => child.on('close', r));
    const end = Date.now() + 110_000;
    while (!PROMPT.test(stdout) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await closed;
    assert.match(stderr, /guest ready in/, `${args.join(' ')}\n${stderr}`);
    assert.match(stdout, PROMPT, `${args.join(' ')} shows no prompt: ${JSON.stringify(stdout)}\n${stderr}`);
  }
});

test('--pcap writes a capture that tshark reads, and the counts are printed', { skip: skip ?? tsharkMissing, timeout: 120_000 }, async () => {
  const file = join(tmp, 'dhcp.pcap');
  const r = await usernet(['run', '-q', '--pcap', file, '--snaplen', '200', '--exec', 'udhcpc -i eth0 -q -n']);
  assert.equal(r.status, 0, show(r));
  const counts = /capture .*dhcp\.pcap: (\d+) frames? captured, 0 filtered, (\d+) truncated/.exec(r.stderr);
  assert.ok(counts, show(r));
  const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols', '-e', 'frame.cap_len'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const frames = t.stdout.trim().split('\n');
  assert.equal(frames.length, Number(counts[1]));
  assert.equal(frames.filter((f) => /:dhcp\t/.test(f)).length, 4, `DISCOVER, OFFER, REQUEST, ACK in\n${t.stdout}`);
  assert.ok(frames.every((f) => Number(f.split('\t')[1]) <= 200), 'the snap length holds');
  assert.ok(Number(counts[2]) >= 4, 'the 342-byte DHCP frames were cut');
});

test('--trace prints a line per matching packet on stderr', { skip, timeout: 120_000 }, async () => {
  const r = await usernet(['run', '-q', '--trace', 'udp_input if udp.dstport == 67', '--exec', 'udhcpc -i eth0 -q -n']);
  assert.equal(r.status, 0, show(r));
  const lines = r.stderr.split('\n').filter((l) => / ms {2}udp_input {2}/.test(l));
  // DISCOVER then REQUEST (udhcpc may repeat a DISCOVER on a slow machine).
  assert.ok(lines.length >= 2, show(r));
  assert.match(lines[0]!, /^ +\d+\.\d{3} ms {2}udp_input {2}DHCP DISCOVER$/);
  assert.match(lines.at(-1)!, /DHCP REQUEST$/);
  assert.match(r.stdout, /lease of 10\.0\.2\.15 obtained/);
});

/** The journeys printed on stderr: the packet line, then "  TIME STAGE  VERDICT" lines. */
function journeysOf(stderr: string): { head: string; steps: { stage: string; verdict: string }[]; nat?: string }[] {
  return stderr.split(/\n(?=journey \d)/).filter((b) => b.startsWith('journey ')).map((block) => {
    const [head, ...rest] = block.split('\n');
    const steps = rest.flatMap((l) => {
      const m = /^ {2}\d+\.\d{6} (\S+) {2}(.*)$/.exec(l);
      return m ? [{ stage: m[1]!, verdict: m[2]! }] : [];
    });
    const nat = rest.find((l) => l.startsWith('  nat '));
    return { head: head!, steps, ...(nat ? { nat } : {}) };
  });
}

const UP = 'udhcpc -i eth0 -q -n >/dev/null 2>&1';

test("a profile's # usernet: netem= directive acts on the run: loss 100% on icmp_input, no ping answered", { skip, timeout: 180_000 }, async () => {
  const file = join(tmp, 'lossy.qemu');
  writeFileSync(file, '# usernet: netem=icmp_input: loss 100%\n# usernet: netem-seed=5\nqemu-system-x86_64 -m 128\n');
  const r = await usernet(['run', '-q', '--profile', file, '--exec', `${UP}; ping -c 3 -W 1 10.0.2.2`]);
  assert.notEqual(r.status, 0, show(r));
  assert.match(r.stdout, /3 packets transmitted, 0 packets received/, show(r));
  assert.match(r.stderr, /icmp_input: loss 100%/, show(r));
  assert.match(r.stderr, /netem-seed 5/, show(r));
});

test('--journey on a ping: the request through the NIC to icmp_input, answered; the reply through the stages back to the NIC', { skip, timeout: 120_000 }, async () => {
  const r = await usernet(['run', '-q', '--journey', 'icmp', '--exec', `${UP}; ping -c1 -W5 10.0.2.2`]);
  assert.equal(r.status, 0, show(r));
  const js = journeysOf(r.stderr);
  const request = js.find((j) => / tx 10\.0\.2\.15 -> 10\.0\.2\.2 ICMP echo request/.test(j.head));
  assert.ok(request, show(r));
  assert.deepEqual(request.steps.map((s) => s.stage), ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input']);
  assert.match(request.steps.at(-1)!.verdict, /^answered \(reply: journey \d+\)$/);
  const id = /^journey (\d+)/.exec(request.head)![1];
  const reply = js.find((j) => j.head.includes(`(reply to ${id}) 10.0.2.2 -> 10.0.2.15 ICMP echo reply`));
  assert.ok(reply, show(r));
  assert.deepEqual(reply.steps.map((s) => s.stage), ['icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov', 'set_ics']);
  assert.equal(reply.steps.at(-1)!.verdict, 'delivered');
  assert.ok(js.every((j) => /ICMP/.test(j.head)), 'the filter keeps other frames out');
});

test('--journey on a wget: the guest segments reach the host socket with their NAT mapping; the data comes back from soread to the NIC', { skip, timeout: 120_000 }, async () => {
  const server = createServer((s: Socket) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello'));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  try {
    const r = await usernet(['run', '-q', '--journey', `tcp.port == ${port}`, '--exec', `${UP}; wget -q -O - http://10.0.2.2:${port}/`]);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /hello/);
    const js = journeysOf(r.stderr);
    const syn = js.find((j) => / tx .*TCP \[SYN\]/.test(j.head));
    assert.ok(syn, show(r));
    assert.deepEqual(syn.steps.slice(3).map((s) => s.stage), ['e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input']);
    assert.match(syn.steps.at(-1)!.verdict, /^answered \(reply: journey \d+\)$/);
    const request = js.find((j) => / tx .*len=[1-9]/.test(j.head) && j.steps.at(-1)?.stage === 'sosend');
    assert.ok(request, `the GET reaches the host socket\n${show(r)}`);
    assert.equal(request.steps.at(-1)!.verdict, 'sent');
    assert.match(request.nat ?? '', new RegExp(`^  nat tcp 10\\.0\\.2\\.15:\\d+ <-> 127\\.0\\.0\\.1:${port} \\(session \\d+\\)$`));
    const data = js.find((j) => / rx .*len=[1-9]/.test(j.head) && j.steps[0]?.stage === 'soread');
    assert.ok(data, `the answer comes from the host socket\n${show(r)}`);
    assert.deepEqual(data.steps.map((s) => s.stage).slice(0, 7), ['soread', 'tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov']);
  } finally {
    server.close();
  }
});

test('--drops reports bad frames at the stage that drops them, with the reason; --json makes JSON lines', { skip, timeout: 120_000 }, async () => {
  // An echo request to a multicast group and a connection the host refuses.
  const r = await usernet(['run', '-q', '--drops', '--json', '--exec', `${UP}; ping -c1 -W1 224.0.0.9; echo x | nc 10.0.2.2 1; true`]);
  assert.equal(r.status, 0, show(r));
  const drops = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const multicast = drops.find((d) => d.drop === 'ip-broadcast');
  assert.ok(multicast, show(r));
  assert.equal(multicast.stage, 'ip_input');
  assert.match(String(multicast.summary), /^10\.0\.2\.15 -> 224\.0\.0\.9 ICMP echo request/);
  assert.equal(typeof multicast.journey, 'number');
  const refused = drops.find((d) => d.drop === 'tcp-connect-refused');
  assert.ok(refused, show(r));
  assert.equal(refused.stage, 'sosend');
});

test('--break driven through a pipe: print a field, continue; the end of input lets the VM run on', { skip, timeout: 120_000 }, async () => {
  const r = await usernet(['run', '-q', '--break', 'udp_input if udp.dstport == 67', '--exec', 'udhcpc -i eth0 -q -n'], {
    input: 'print udp.dstport\ninfo\nbt\np udp.dstprot\ncontinue\n',
  });
  assert.equal(r.status, 0, show(r));
  assert.match(r.stderr, /Breakpoint 1, udp_input: DHCP DISCOVER\n\(usernet\) print udp\.dstport\nudp\.dstport = 67\n/);
  assert.match(r.stderr, /stage chain: .*qemu_send_packet > net_slirp_receive > slirp_input > ip_input > udp_input/);
  // The debugger's call stack, innermost first, each stage at its probe's line.
  assert.match(r.stderr, /\n#0  udp_input at extension\/slirp\/udp_input\.ts:\d+: DHCP DISCOVER\n#1  ip_input at extension\/slirp\/ip_input\.ts:\d+\n[^]*#\d+  e1000_mmio_write at extension\/e1000\/e1000\.ts:\d+\n/);
  assert.match(r.stderr, /error: unknown field 'udp\.dstprot' \(did you mean 'udp\.dstport'\?\)/);
  assert.match(r.stderr, /Breakpoint 1, udp_input: DHCP (REQUEST|DISCOVER)\n\(usernet\) \nusernet: no more prompt input: breakpoints deleted, the VM runs on/);
  assert.equal(r.stderr.match(/Breakpoint 1,/g)?.length, 2, 'no stop after the breakpoints were deleted');
  assert.match(r.stdout, /lease of 10\.0\.2\.15 obtained/);
});

test('usernet sessions prints the NAT table of a running VM', { skip, timeout: 120_000 }, async () => {
  let peer: Socket | undefined;
  let connected!: () => void;
  const connection = new Promise<void>((r) => (connected = r));
  const server = createServer((s) => {
    peer = s;
    s.write('hello from the host\n');
    connected();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    let pid = 0;
    // The guest's nc reads its terminal, so it stays connected until the host closes.
    const run = usernet(['run', '-q', '--exec', `udhcpc -i eth0 -q -n >/dev/null 2>&1; nc 10.0.2.2 ${port}`], { onStart: (p) => (pid = p) });
    await Promise.race([connection, run.then((r) => assert.fail(`the run ended before connecting\n${show(r)}`))]);
    const table = await usernet(['sessions', '--pid', String(pid)]);
    assert.equal(table.status, 0, show(table));
    assert.match(table.stdout, /^Hub -1 \(user\.0\):\n {2}Protocol\[State\] +FD +Source Address +Port +Dest\. Address +Port RecvQ SendQ\n/);
    assert.match(table.stdout, new RegExp(`TCP\\[ESTABLISHED\\] +\\d+ +10\\.0\\.2\\.15 +\\d+ +10\\.0\\.2\\.2 +${port} `));
    const alone = await usernet(['sessions']);
    assert.equal(alone.status, 0, `the only running VM needs no --pid\n${show(alone)}`);
    assert.match(alone.stdout, /TCP\[ESTABLISHED\]/);
    peer!.end();
    const r = await run;
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /hello from the host/);
    const gone = await usernet(['sessions', '--pid', String(pid)]);
    assert.equal(gone.status, 1, show(gone));
    assert.match(gone.stderr, /runs no usernet VM \(no VM is running\)/);
  } finally {
    peer?.destroy();
    server.close();
  }
});
