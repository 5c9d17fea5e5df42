/**
 * One guest per test file: the embedded engine restored from its snapshot,
 * with a lease taken, its DNS pointed at a test server on loopback.
 */
import assert from 'node:assert/strict';
import { EmbeddedMachine, type EmbeddedOptions } from '../../extension/machine/embedded-machine';
import { DEFAULT_SLIRP_CONFIG, type SlirpConfig } from '../../extension/slirp/config';
import { parseNetdevUser } from '../../extension/slirp/netdev-options';

export interface GuestOptions extends Omit<EmbeddedOptions, 'netdev'> {
  /** QEMU -netdev user options; dns-upstream is added by `dnsPort`. */
  netdev?: string;
  dnsPort?: number;
  /** Take a DHCP lease before returning (default true). */
  dhcp?: boolean;
}

export async function startGuest(opts: GuestOptions = {}): Promise<EmbeddedMachine> {
  let netdev: SlirpConfig = DEFAULT_SLIRP_CONFIG;
  const parts = [opts.netdev ?? 'user'];
  if (opts.dnsPort) parts.push(`dns-upstream=127.0.0.1:${opts.dnsPort}`);
  netdev = parseNetdevUser(parts.join(','));
  const vm = await EmbeddedMachine.start({ ...opts, netdev });
  if (opts.dhcp ?? true) {
    const r = await vm.exec('udhcpc -i eth0 -q -n -t 5 2>&1', 60_000);
    assert.equal(r.status, 0, `udhcpc failed: ${r.output}`);
  }
  return vm;
}

/** Runs a guest command and insists on exit status 0, showing its output otherwise. */
export async function sh(vm: EmbeddedMachine, command: string, timeoutMs = 60_000): Promise<string> {
  const r = await vm.exec(command, timeoutMs);
  assert.equal(r.status, 0, `guest command failed (${r.status}): ${command}\n${r.output}`);
  return r.output;
}

/**
 * Waits for the guest's SLAAC address (from our router advertisement) to be
 * configured and past duplicate address detection. Flipping the link makes
 * the guest solicit again, should an advertisement have been missed (applying
 * the lease's MTU takes the link down and up, which may race the first one).
 */
export async function waitForSlaac(vm: EmbeddedMachine, address: string): Promise<void> {
  for (let flips = 0; ; flips++) {
    const r = await vm.exec(`for n in $(seq 20); do ip -6 addr show eth0 | grep -q '${address}/64' && ! ip -6 addr show eth0 | grep -q tentative && exit 0; sleep 0.5; done; exit 1`, 30_000);
    if (r.status === 0) return;
    if (flips === 3) assert.fail(`the guest has no SLAAC address ${address}, even after flipping its link ${flips} times`);
    await vm.exec('ip link set eth0 down; ip link set eth0 up');
  }
}
