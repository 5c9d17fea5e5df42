/**
 * Guest tests forward guest traffic to real host sockets. They must only ever
 * reach loopback: this check refuses to run them outside the private network
 * namespace that scripts/netns-run.sh creates.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export function containmentProblem(): string | undefined {
  const names = Object.keys(networkInterfaces());
  const foreign = names.filter((n) => n !== 'lo');
  if (foreign.length) return `network interfaces other than loopback are present (${foreign.join(', ')})`;
  let resolv = '';
  try {
    resolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return undefined;
  }
  const servers = [...resolv.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  const outside = servers.filter((s) => !/^127\./.test(s) && s !== '::1');
  if (outside.length) return `resolv.conf names non-loopback resolvers (${outside.join(', ')})`;
  return undefined;
}

/** Throws unless this process runs in a namespace where only loopback is reachable. */
export function assertContained(): void {
  const problem = containmentProblem();
  if (problem) {
    throw new Error(`refusing to run a guest test outside a private network namespace: ${problem}. Run it through scripts/netns-run.sh (npm test does).`);
  }
}
