/**
 * The same guest (the bundled bzImage + initramfs under qemu-system-x86_64,
 * TCG, -m 256, e1000) and the same QEMU on user-mode backends: QEMU's libslirp,
 * passt, and `usernet serve` (our slirp in its own node process), with mtu=9000
 * (the bundled guest's jumbo link) and with mtu=1500 (Ethernet's, like libslirp's).
 * One VM per backend, all booted first; each round runs every figure on each
 * backend in turn (order rotating), so load on the machine falls on all alike.
 *
 *   scripts/netns-run.sh node --import tsx bench/backends.ts [--rounds 3] [--download-mib 32] [--upload-mib 4] [--fwd-mib 16] [--connections 100]
 *       [--backends libslirp,usernet] [--figures download,ping]   (a subset, for a quick look: the docs take the whole run)
 */
import { get } from 'node:http';
import { parseArgs } from 'node:util';
import { bundledGuest, GUEST_PROMPT } from '../extension/machine/guest-image';
import { QemuMachine } from '../extension/machine/qemu-machine';
import { containmentProblem } from '../test/support/containment';
import { addTemplateInterface, startBackend, type BackendName, type RunningBackend } from './lib/backends';
import { cpuPer, cpuSplit, type CpuSplit } from './lib/thread-cpu';
import { pingTimes } from './lib/guest-output';
import { mbPerSecond, startTimedHttp, startTimedSink } from './lib/host-peers';
import { freeLoopbackPort } from './lib/loopback';
import { commandLine, machineInfo, progress, publish, type Chart, runBench } from './lib/report';
import { fmt, fmtRatio, fmtSummary, median, ratio, summarize, withTimeout } from './lib/stats';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'download-mib': { type: 'string', default: '32' },
    'upload-mib': { type: 'string', default: '4' },
    'fwd-mib': { type: 'string', default: '16' },
    connections: { type: 'string', default: '100' },
    backends: { type: 'string', default: 'libslirp,passt,usernet,usernet-mtu1500' },
    figures: { type: 'string', default: 'download,upload,hostfwd,connections,ping' },
  },
});
const ROUNDS = Number(values.rounds);
const DOWNLOAD = Number(values['download-mib']) * 2 ** 20;
const UPLOAD_MIB = Number(values['upload-mib']);
const FWD_MIB = Number(values['fwd-mib']);
const CONNECTIONS = Number(values.connections);
const ALL_BACKENDS: BackendName[] = ['libslirp', 'passt', 'usernet', 'usernet-mtu1500'];
const LABELS: Record<BackendName, string> = {
  libslirp: 'libslirp (QEMU -netdev user)',
  passt: 'passt',
  usernet: 'usernet serve (ours)',
  'usernet-mtu1500': 'usernet serve, mtu=1500',
};
const BACKENDS = pickList('--backends', values.backends!, ALL_BACKENDS);

interface Guest {
  name: BackendName;
  backend: RunningBackend;
  vm: QemuMachine;
  fwdPort: number;
  /** eth0's MTU once the guest applied its lease. */
  mtu: number;
}

type Figure = 'downloadMBps' | 'uploadMBps' | 'hostfwdMBps' | 'connPerSec' | 'pingMs';
interface Sample {
  backend: BackendName;
  round: number;
  figure: Figure;
  value?: number;
  error?: string;
  /** For the bulk figures: CPU milliseconds per MiB moved, by role. */
  cpu?: CpuSplit;
}

/** Runs a guest command; on a timeout interrupts it (Ctrl-C) so the shell is usable for the next figure. */
async function sh(vm: QemuMachine, command: string, timeoutMs: number): Promise<string> {
  try {
    const r = await vm.exec(command, timeoutMs);
    if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.output.trim().split('\n').slice(-2).join(' | ')}`);
    return r.output;
  } catch (e) {
    if (/timed out/.test((e as Error).message)) {
      vm.serial.write('\x03\n');
      await vm.serial.waitFor(GUEST_PROMPT, 20_000, 'the prompt after Ctrl-C').catch(() => {});
    }
    throw e;
  }
}

async function bootGuest(name: BackendName): Promise<Guest> {
  const fwdPort = await freeLoopbackPort();
  const backend = await startBackend(name, fwdPort);
  const g = bundledGuest();
  const vm = await QemuMachine.start({
    // No in-process slirp: the network is the backend's.
    slirp: undefined,
    kvm: false,
    waitForPrompt: true,
    bootTimeoutMs: 300_000,
    buildArgs: (s) => [
      '-m', '256',
      '-kernel', g.bzImage,
      '-initrd', g.initrd,
      '-append', 'console=ttyS0 quiet tsc=reliable',
      '-netdev', backend.netdev,
      '-device', 'e1000,netdev=n0',
      '-chardev', `socket,id=usernet-serial,path=${s.serial},server=on,wait=off`,
      '-serial', 'chardev:usernet-serial',
      '-qmp', `unix:${s.qmp},server=on,wait=off`,
      '-display', 'none',
      '-monitor', 'none',
      // Names the vCPU threads ("CPU 0/TCG"), so their CPU time can be told from the main loop's.
      '-name', `bench-${name},debug-threads=on`,
      '-no-reboot',
    ],
  });
  let mtu: number;
  try {
    await sh(vm, 'udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1', 60_000);
    mtu = Number(/mtu (\d+)/.exec(await sh(vm, 'ip link show eth0', 10_000))?.[1]);
    // The guest's web server for the hostfwd figure.
    await sh(vm, `mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/f bs=1M count=${FWD_MIB} 2>/dev/null && echo hi > /tmp/www/small && httpd -p 80 -h /tmp/www`, 60_000);
  } catch (e) {
    await vm.stop();
    await backend.stop();
    throw e;
  }
  return { name, backend, vm, fwdPort, mtu };
}

/** Fetches a file through the hostfwd rule, from request to last byte. */
function fetchForwarded(port: number, path: string): Promise<{ bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ bytes, seconds: (performance.now() - t0) / 1000 }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function measure(g: Guest, figure: Figure, sink: Awaited<ReturnType<typeof startTimedSink>>, http: Awaited<ReturnType<typeof startTimedHttp>>): Promise<number> {
  const vm = g.vm;
  switch (figure) {
    case 'downloadMBps': {
      http.clear();
      const t = http.next(200_000, 'the guest to close the download');
      t.catch(() => {});
      await sh(vm, `wget -q -O /dev/null http://10.0.2.2:${http.port}/file`, 180_000);
      return mbPerSecond(await t);
    }
    case 'uploadMBps': {
      sink.clear();
      const t = sink.next(200_000, 'the sink to see the end of the upload');
      t.catch(() => {});
      await sh(vm, `dd if=/dev/zero bs=1k count=${UPLOAD_MIB * 1024} 2>/dev/null | nc 10.0.2.2 ${sink.port}`, 180_000);
      const r = await t;
      if (r.bytes !== UPLOAD_MIB * 2 ** 20) throw new Error(`sink got ${r.bytes} of ${UPLOAD_MIB * 2 ** 20} bytes`);
      return mbPerSecond(r);
    }
    case 'hostfwdMBps': {
      const r = await withTimeout(fetchForwarded(g.fwdPort, '/f'), 120_000, 'the forwarded download');
      if (r.bytes !== FWD_MIB * 2 ** 20) throw new Error(`got ${r.bytes} of ${FWD_MIB * 2 ** 20} bytes through hostfwd`);
      return r.bytes / 1e6 / r.seconds;
    }
    case 'connPerSec': {
      http.clear();
      const before = http.requests;
      const t0 = performance.now();
      await sh(vm, `i=0; while [ $i -lt ${CONNECTIONS} ]; do wget -q -O /dev/null http://10.0.2.2:${http.port}/small || exit 1; i=$((i+1)); done`, 300_000);
      const s = (performance.now() - t0) / 1000;
      if (http.requests - before !== CONNECTIONS) throw new Error(`${http.requests - before} of ${CONNECTIONS} requests arrived`);
      return CONNECTIONS / s;
    }
    case 'pingMs': {
      const r = await vm.exec('ping -c 20 -i 0.2 10.0.2.2', 60_000);
      const times = pingTimes(r.output);
      if (!times.length) throw new Error('no reply to ping');
      return median(times);
    }
  }
}

/** Bytes the bulk figures move, for CPU per MiB. */
function bytesMoved(figure: Figure): number | undefined {
  if (figure === 'downloadMBps') return DOWNLOAD;
  if (figure === 'uploadMBps') return UPLOAD_MIB * 2 ** 20;
  if (figure === 'hostfwdMBps') return FWD_MIB * 2 ** 20;
  return undefined;
}

/** What a figure's CPU time is divided by: MiB for the bulk figures, connections for connections/s. */
function cpuUnits(figure: Figure): number | undefined {
  if (figure === 'connPerSec') return CONNECTIONS;
  const bytes = bytesMoved(figure);
  return bytes === undefined ? undefined : bytes / 2 ** 20;
}

const ALL_FIGURES: Array<{ key: string; figure: Figure; label: string; unit: string; higherIsBetter: boolean }> = [
  { key: 'download', figure: 'downloadMBps', label: 'download: guest wget from host HTTP', unit: 'MB/s', higherIsBetter: true },
  { key: 'upload', figure: 'uploadMBps', label: 'upload: guest dd | nc to host sink (guest-bound)', unit: 'MB/s', higherIsBetter: true },
  { key: 'hostfwd', figure: 'hostfwdMBps', label: 'guest httpd -> host client via hostfwd', unit: 'MB/s', higherIsBetter: true },
  { key: 'connections', figure: 'connPerSec', label: `sequential wgets of a tiny file (${CONNECTIONS})`, unit: 'conn/s', higherIsBetter: true },
  { key: 'ping', figure: 'pingMs', label: 'ping gateway RTT, median of 20', unit: 'ms', higherIsBetter: false },
];
const FIGURES = ALL_FIGURES.filter((f) => pickList('--figures', values.figures!, ALL_FIGURES.map((a) => a.key)).includes(f.key));
/** A run of every backend and figure is the one docs/benchmarks.md shows; a subset is written beside it. */
const FULL_RUN = BACKENDS.length === ALL_BACKENDS.length && FIGURES.length === ALL_FIGURES.length;

function pickList<T extends string>(option: string, text: string, known: readonly T[]): T[] {
  const picked = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = picked.filter((p) => !known.includes(p as T));
  if (unknown.length || !picked.length) throw new Error(`${option}: expected a comma-separated subset of ${known.join(',')}, got "${text}"`);
  return known.filter((k) => picked.includes(k));
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem || process.env.USERNET_NETNS !== '1') {
    throw new Error(`refusing to run guests outside a private network namespace: ${problem ?? 'USERNET_NETNS is not set'}. Run it through scripts/netns-run.sh.`);
  }
  await addTemplateInterface();
  const sink = await startTimedSink();
  const http = await startTimedHttp({ '/file': Buffer.alloc(DOWNLOAD, 0x5a), '/small': Buffer.from('hi\n') });
  const guests: Guest[] = [];
  const samples: Sample[] = [];
  const bootFailures: string[] = [];
  for (const name of BACKENDS) {
    progress(`booting the guest on ${name}`);
    try {
      guests.push(await bootGuest(name));
    } catch (e) {
      bootFailures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      progress(`${name} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = guests.map((_, i) => guests[(i + round - 1) % guests.length]!);
      for (const g of order) {
        for (const { figure } of FIGURES) {
          try {
            const units = cpuUnits(figure);
            const before = units && g.vm.pid ? cpuSplit(g.vm.pid, g.backend.pid) : undefined;
            const value = await measure(g, figure, sink, http);
            const cpu = before && units ? cpuPer(before, cpuSplit(g.vm.pid!, g.backend.pid), units) : undefined;
            samples.push({ backend: g.name, round, figure, value, cpu });
            progress(`round ${round} ${g.name} ${figure}: ${fmt(value)}`);
          } catch (e) {
            const error = (e as Error).message.split('\n')[0]!;
            samples.push({ backend: g.name, round, figure, error });
            progress(`round ${round} ${g.name} ${figure}: FAILED ${error}`);
          }
        }
      }
    }
  } finally {
    for (const g of guests) {
      await g.vm.stop().catch(() => {});
      await g.backend.stop();
    }
    await sink.close();
    await http.close();
  }

  const by = (b: BackendName, f: Figure) => summarize(samples.filter((s) => s.backend === b && s.figure === f && s.value !== undefined).map((s) => s.value!));
  const failures = (b: BackendName, f: Figure) => samples.filter((s) => s.backend === b && s.figure === f && s.error);
  const cell = (b: BackendName, f: Figure) => {
    if (!BACKENDS.includes(b)) return 'not run';
    if (!guests.some((g) => g.name === b)) return 'failed to start';
    const s = by(b, f);
    const failed = failures(b, f).length;
    if (!s) return `failed ${failed}/${failed}`;
    return failed ? `${fmtSummary(s)} (failed ${failed}/${failed + s.n})` : fmtSummary(s);
  };
  const peers = ALL_BACKENDS.filter((b) => b !== 'libslirp');
  const rows = FIGURES.map(({ figure, label, unit, higherIsBetter }) => [
    `${label} (${unit})`,
    ...ALL_BACKENDS.map((b) => cell(b, figure)),
    ...peers.map((b) => fmtRatio(ratio(by(b, figure), by('libslirp', figure), higherIsBetter))),
  ]);
  const charts: Chart[] = FIGURES.map(({ figure, label, unit, higherIsBetter }) => ({
    title: label,
    unit,
    higherIsBetter,
    bars: BACKENDS.map((b) => {
      const s = by(b, figure);
      const failed = failures(b, figure).length;
      return { label: LABELS[b], value: s?.median ?? null, min: s?.min, max: s?.max, note: s ? undefined : failed || !guests.some((g) => g.name === b) ? 'failed' : undefined };
    }),
  }));
  // CPU per MiB for the bulk figures, by role: the network side is what moving the bytes costs outside the guest.
  const cpuMedian = (b: BackendName, f: Figure, pick: (c: CpuSplit) => number) => {
    const v = samples.filter((s) => s.backend === b && s.figure === f && s.cpu).map((s) => pick(s.cpu!));
    return v.length ? median(v) : null;
  };
  const cpuRowsOf = (pick: (figure: Figure) => boolean) => FIGURES.filter(({ figure }) => pick(figure)).flatMap(({ figure, label }) =>
    guests.map(({ name }) => [
      label,
      LABELS[name],
      fmt(cpuMedian(name, figure, (c) => c.mainLoop)),
      name === 'libslirp' ? '(in the main loop)' : fmt(cpuMedian(name, figure, (c) => c.backend)),
      fmt(cpuMedian(name, figure, (c) => c.mainLoop + c.backend)),
      fmt(cpuMedian(name, figure, (c) => c.vcpu)),
    ]),
  );
  const cpuRows = cpuRowsOf((f) => bytesMoved(f) !== undefined);
  const connectionCpuRows = cpuRowsOf((f) => f === 'connPerSec');
  const errorNotes = [...bootFailures.map((f) => `did not start: ${f}`), ...samples.filter((s) => s.error).map((s) => `round ${s.round} ${s.backend} ${s.figure}: ${s.error}`)];
  publish({
    name: FULL_RUN ? 'backends' : 'backends-subset',
    title: 'QEMU user-mode backends: libslirp vs passt vs usernet serve',
    command: commandLine(__filename),
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { rounds: ROUNDS, downloadBytes: DOWNLOAD, uploadBytes: UPLOAD_MIB * 2 ** 20, hostfwdBytes: FWD_MIB * 2 ** 20, connections: CONNECTIONS, qemu: 'qemu-system-x86_64 TCG -m 256, e1000' },
    tables: [
      {
        caption: `${ROUNDS} rounds, backends interleaved; median [min-max]. Ratios against libslirp, oriented so > 1 means better than libslirp (the project's goal: >= 1.0x on every figure).`,
        headers: ['figure', ...ALL_BACKENDS.map((b) => LABELS[b]), ...peers.map((b) => `${LABELS[b]} vs libslirp`)],
        rows,
      },
      ...(cpuRows.length
        ? [
            {
              caption: 'CPU per MiB moved, median over the rounds (ms/MiB), read from each thread\'s schedstat. The network side is QEMU\'s main loop (where libslirp runs and where stream frames are read and handed to the e1000) plus the backend\'s own process; the vCPU column is the guest\'s share.',
              headers: ['figure', 'backend', 'QEMU main loop', 'backend process', 'network side', 'guest vCPU'],
              rows: cpuRows,
            },
          ]
        : []),
      ...(connectionCpuRows.length
        ? [
            {
              caption: `CPU per connection, median over the rounds (ms per connection: the ${CONNECTIONS} sequential wgets' CPU divided by ${CONNECTIONS}), split as above. The project's goal for the backend process of usernet serve: <= 0.5 ms.`,
              headers: ['figure', 'backend', 'QEMU main loop', 'backend process', 'network side', 'guest vCPU'],
              rows: connectionCpuRows,
            },
          ]
        : []),
    ],
    charts,
    notes: [
      `Download: ${DOWNLOAD / 2 ** 20} MiB, timed from the request to the guest closing the connection. Upload: ${UPLOAD_MIB} MiB from /dev/zero through busybox nc, which writes ~1 KiB per loop, so the guest bounds it; the hostfwd row (${FWD_MIB} MiB from busybox httpd in the guest to a Node client on 127.0.0.1) is the better guest-to-host figure.`,
      'Connections/s: the whole guest loop timed, so each figure includes starting busybox wget in the guest (the same cost for every backend).',
      'passt runs with -a 10.0.2.15 -n 24 -g 10.0.2.2 so the guest commands are the same on all backends; its template interface is a tap device nobody reads inside the private namespace.',
      `The guest applies the MTU its lease offers (DHCP option 26); QEMU's e1000 takes up to 16110. eth0's MTU after the lease: ${guests.map((g) => `${g.name} ${g.mtu}`).join(', ')}. usernet offers 9000 (the bundled guest's default, mtu=9000 here); passt offers 65520, more than the e1000 takes, so its guest keeps 1500; libslirp offers none. The mtu=1500 column is usernet like for like with libslirp's link.`,
      ...errorNotes.slice(0, 20),
    ],
    raw: samples,
  });
}

runBench(main);
