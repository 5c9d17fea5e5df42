/**
 * Hosts for echo forwarding tests, made inside the test's private network
 * namespace (scripts/netns-run.sh): 198.18.0.1 and fd00:198::1 on its loopback,
 * addresses that exist only there, and ping sockets allowed for
 * every group (net.ipv4.ping_group_range is per namespace and closed by
 * default). Anything else the guest pings has no route and fails on the spot.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export const PING_TARGET4 = '198.18.0.1';
export const PING_TARGET6 = 'fd00:198::1';
/** Addresses with no route in the namespace: sendto fails at once (ENETUNREACH), nothing is sent. */
export const NO_ROUTE4 = '198.51.100.1';
export const NO_ROUTE6 = '2001:db8::1';

/** Why these tests cannot run here, or false. */
export function pingNamespaceSkip(): string | false {
  if (process.env.USERNET_NETNS !== '1') return 'needs the private network namespace of scripts/netns-run.sh (run as root)';
  return false;
}

/** Allows ping sockets and adds the target addresses; idempotent (test files share the namespace). */
export function preparePingNamespace(): void {
  writeFileSync('/proc/sys/net/ipv4/ping_group_range', '0 2147483647');
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // On loopback: it is always there (a dummy or veth device needs kernel modules a sandbox may lack).
  const have = ip('addr', 'show', 'dev', 'lo');
  if (!have.includes(` ${PING_TARGET4}/`)) ip('addr', 'add', `${PING_TARGET4}/32`, 'dev', 'lo');
  if (!have.includes(` ${PING_TARGET6}/`)) ip('-6', 'addr', 'add', `${PING_TARGET6}/128`, 'dev', 'lo', 'nodad');
}
