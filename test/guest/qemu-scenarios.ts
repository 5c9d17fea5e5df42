/**
 * What the QEMU-engine guest tests share: whether QEMU is here, process
 * lookups (to prove nothing is left behind), and the network scenarios run
 * the same way on any backend, returning what the guest observed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { ExecResult } from '../../extension/machine/serial-console';
import { startCollector } from '../support/host-servers';

export interface GuestShell {
  exec(command: string, timeoutMs?: number): Promise<ExecResult>;
}

/** Why QEMU tests cannot run here, or undefined. */
export function qemuMissing(): string | undefined {
  const r = spawnSync(process.env.USERNET_QEMU ?? 'qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'qemu-system-x86_64 is not installed (Debian: apt install qemu-system-x86)' : undefined;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Direct children of `pid` (from /proc). */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function sh(vm: GuestShell, command: string, timeoutMs = 60_000): Promise<string> {
  const r = await vm.exec(command, timeoutMs);
  assert.equal(r.status, 0, `guest command failed (${r.status}): ${command}\n${r.output}`);
  return r.output;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** What a guest sees of its network; equal across backends that behave alike. */
export interface Observed {
  lease: string[];
  /** eth0's MTU after the lease was applied. */
  mtu: number;
  pingLoss: number[];
  nslookup: string;
  guestToHost: string;
  hostToGuest: string;
  refusedFast: boolean;
  /** traceroute's first hop toward an outside address (none is reachable in the test's namespace). */
  firstHop: string;
}

export interface ScenarioContext {
  /** The host port forwarded to guest port 5555. */
  forwardedPort: number;
  /** A name the test DNS server answers, and its address. */
  dnsName: string;
  dnsAddress: string;
}

/** The seed's experiments: DHCP, ping, DNS, nc both ways, a refused port. */
export async function observeNetwork(vm: GuestShell, ctx: ScenarioContext): Promise<Observed> {
  const dhcp = await sh(vm, 'udhcpc -i eth0 -q -n -t 5 2>&1', 60_000);
  const lease = dhcp.split('\n').filter((l) => /lease/.test(l)).map((l) => l.trim());
  const mtu = Number(/mtu (\d+)/.exec(await sh(vm, 'ip link show eth0'))?.[1]);

  const ping = await sh(vm, 'ping -c 10 -i 0.2 10.0.2.2 | tail -2', 60_000);
  const pingLoss = [...ping.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));

  const ns = await sh(vm, `nslookup ${ctx.dnsName} 10.0.2.3`);
  const nslookup = ns.split('\n').filter((l) => /^(Name|Address)/.test(l.trim()) && !/#53$/.test(l)).map((l) => l.trim().replace(/\s+/g, ' ')).join('; ');

  // Guest to host: nc 10.0.2.2 PORT reaches a listener on host loopback.
  const collector = await startCollector();
  await sh(vm, `echo hello from the guest | nc 10.0.2.2 ${collector.port}`);
  const guestToHost = await collector.received;
  await collector.close();

  // Host to guest: hostfwd into nc -l -p 5555.
  await sh(vm, 'rm -f /tmp/got; (nc -l -p 5555 > /tmp/got &); sleep 1');
  const sock = connect(ctx.forwardedPort, '127.0.0.1');
  await once(sock, 'connect');
  sock.end('hello from the host\n');
  await once(sock, 'close');
  let hostToGuest = '';
  for (let i = 0; i < 20 && hostToGuest !== 'hello from the host\n'; i++) {
    hostToGuest = (await vm.exec('cat /tmp/got 2>/dev/null')).output;
    if (hostToGuest !== 'hello from the host\n') await new Promise((r) => setTimeout(r, 250));
  }

  // A refused port: an RST, not a timeout.
  const closed = await freePort();
  const t0 = performance.now();
  const r = await vm.exec(`echo x | nc 10.0.2.2 ${closed}`, 30_000);
  const refusedFast = r.status !== 0 && performance.now() - t0 < 10_000;

  // The gateway answers for the hop it is (time exceeded, or unreachable from 10.0.2.2), RFC 1812.
  const trace = await vm.exec('traceroute -n -m 1 -q 1 -w 3 192.0.2.1 2>&1', 30_000);
  const firstHop = /^\s*1\s+(\S+)/m.exec(trace.output)?.[1] ?? trace.output;

  return { lease, mtu, pingLoss, nslookup, guestToHost, hostToGuest, refusedFast, firstHop };
}

/** The observations every backend must give (QEMU's own user network included). */
export function assertExpected(o: Observed, ctx: ScenarioContext): void {
  assert.ok(o.lease.some((l) => /lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2/.test(l)), o.lease.join('\n'));
  assert.ok(o.lease.some((l) => /10\.0\.2\.15\/24 router 10\.0\.2\.2 dns 10\.0\.2\.3/.test(l)), o.lease.join('\n'));
  assert.deepEqual(o.pingLoss, [0]);
  assert.match(o.nslookup, new RegExp(`Address:? ${ctx.dnsAddress.replace(/\./g, '\\.')}`));
  assert.equal(o.guestToHost, 'hello from the guest\n');
  assert.equal(o.hostToGuest, 'hello from the host\n');
  assert.equal(o.refusedFast, true);
  assert.equal(o.firstHop, '10.0.2.2');
}
