/**
 * Checks that need the whole profile: each user network's suboptions, host
 * ports forwarded twice, netdevs no NIC uses, NICs naming a missing netdev.
 */
import type { LineMap } from './source-range';
import { formatIpv4 } from '../wire/address';
import { readNetdevUser, type HostForwardSpan } from '../slirp/netdev-options';
import { userConnections } from './network-plan';
import type { ProfilePlan, NetdevSpec, ProblemSeverity, ProfileProblem } from './plan';
import type { SourceRange } from './source-range';

export function validatePlan(plan: ProfilePlan, lines: LineMap): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  const report = (code: string, severity: ProblemSeverity, message: string, start: number, end: number): void => {
    problems.push({ code, severity, message, start, end, range: lines.range(start, end) });
  };
  const reportRange = (code: string, severity: ProblemSeverity, message: string, range: SourceRange): void => {
    const start = lines.offset(range.start);
    const end = lines.offset(range.end);
    problems.push({ code, severity, message, start, end, range });
  };

  const forwards: Array<{ span: HostForwardSpan; netdev: NetdevSpec }> = [];
  const guestTargets = new Map<string, NetdevSpec>();
  for (const netdev of plan.netdevs) {
    if (netdev.type !== 'user') continue;
    const toSource = (from: number, to: number): [number, number] => {
      const offsets = netdev.optionSourceOffsets;
      const last = offsets.length - 1;
      const a = offsets[Math.min(from, last)];
      const b = to > from ? offsets[Math.min(to - 1, last)] + 1 : a;
      return [a, b];
    };
    // The slirp's own parser: what it refuses here, the launch refuses too.
    const reading = readNetdevUser(netdev.options);
    for (const issue of reading.issues) report(issue.code, issue.severity, issue.message, ...toSource(issue.start, issue.end));
    for (const span of reading.hostForwards) {
      const { rule } = span;
      if (rule.hostPort === 0) continue;
      const clash = forwards.find(({ span: { rule: r } }) => r.protocol === rule.protocol && r.hostPort === rule.hostPort
        && bindsOverlap(r.hostAddr, rule.hostAddr));
      if (clash) {
        report('duplicate-host-port', 'error', `host port ${rule.hostPort}/${rule.protocol} is already forwarded by hostfwd=${clash.span.text}: choose another host port`, ...toSource(span.hostPortStart, span.hostPortEnd));
      }
      forwards.push({ span, netdev });
    }
    for (const span of reading.guestForwards) {
      const key = `${formatIpv4(span.rule.serverAddr)}:${span.rule.serverPort}`;
      if (guestTargets.has(key)) report('duplicate-guestfwd', 'error', `guestfwd ${key} is already forwarded: each server:port can go to one target`, ...toSource(span.start, span.end));
      guestTargets.set(key, netdev);
    }
  }

  // Netdev ids, and which NIC uses which.
  const ids = new Map<string, NetdevSpec>();
  for (const netdev of plan.netdevs) {
    if (netdev.form !== 'netdev' || netdev.id === '') continue;
    if (ids.has(netdev.id)) reportRange('duplicate-netdev-id', 'error', `netdev id "${netdev.id}" is used twice: give each -netdev its own id`, netdev.idRange ?? netdev.range);
    else ids.set(netdev.id, netdev);
  }
  const usedBy = new Map<string, true>();
  for (const nic of plan.nics) {
    if (nic.form === 'nic') continue;
    if (nic.netdev === undefined) {
      if (nic.form === 'device') reportRange('nic-without-netdev', 'warning', `${nic.model} is connected to no network backend: add netdev=ID (with -netdev user,id=ID)`, nic.range);
      continue;
    }
    if (!ids.has(nic.netdev)) {
      const known = [...ids.keys()];
      reportRange('missing-netdev', 'error', `no -netdev with id "${nic.netdev}"${known.length ? ` (defined: ${known.join(', ')})` : ': add -netdev user,id=' + nic.netdev}`, nic.netdevRange ?? nic.range);
      continue;
    }
    if (usedBy.has(nic.netdev)) reportRange('netdev-in-use', 'error', `netdev "${nic.netdev}" already has a NIC: QEMU connects one device per -netdev`, nic.netdevRange ?? nic.range);
    usedBy.set(nic.netdev, true);
  }
  for (const netdev of ids.values()) {
    if (!usedBy.has(netdev.id)) {
      reportRange('unused-netdev', 'warning', `netdev "${netdev.id}" is not used by any device: add -device e1000,netdev=${netdev.id}`, netdev.idRange ?? netdev.range);
    }
  }

  // The legacy -net hub needs both halves.
  const hubNics = plan.nics.filter((n) => n.form === 'net' && n.netdev === undefined);
  const hubBackends = plan.netdevs.filter((n) => n.form === 'net');
  if (hubNics.length && !hubBackends.length) {
    reportRange('hub-without-backend', 'warning', '-net nic has no backend: add -net user (or the guest has a link to nowhere)', hubNics[0].range);
  }
  if (hubBackends.length && !hubNics.length) {
    reportRange('hub-without-nic', 'warning', `-net ${hubBackends[0].type} has no NIC: add -net nic (or use -nic ${hubBackends[0].type})`, hubBackends[0].range);
  }

  const connections = userConnections(plan.netdevs, plan.nics);
  for (const extra of connections.slice(1)) {
    reportRange('extra-user-network', 'warning', `Usernet runs one user-mode network (${connections[0].netdev.id}); this ${extra.nic.model} on "${extra.netdev.id}" will have none`, extra.nic.range);
  }
  return problems;
}

/** The same host address, or 0.0.0.0 (every address) on either side (an empty one is 127.0.0.1 already). */
function bindsOverlap(a: string, b: string): boolean {
  return a === b || a === '0.0.0.0' || b === '0.0.0.0';
}
