/**
 * The topology's hostfwd and guestfwd rules as parts of their own: each row
 * under the host can be clicked like the boxes, and its actions aim at that
 * rule's traffic only. A hostfwd's traffic is told apart by the guest port it
 * reaches (frames toward the guest carry it as the destination port, the
 * guest's answers as the source port); a guestfwd's by the virtual server
 * address and port the guest connects to.
 */
import type { ForwardRow, TopologyBody } from './feed-bodies';
import type { PartTargets } from './topology-targets';

/** "hostfwd-0", "guestfwd-2": the rule's index among its kind. */
export type ForwardId = `${'hostfwd' | 'guestfwd'}-${number}`;
export const FORWARD_ID = /^(hostfwd|guestfwd)-\d{1,3}$/;

export interface TopologyForward {
  id: ForwardId;
  kind: 'hostfwd' | 'guestfwd';
  /** "tcp 127.0.0.1:2222 → 10.0.2.15:22" */
  label: string;
  /** What the part's menu calls it. */
  title: string;
  targets: PartTargets;
}

export function hostForwardPart(f: ForwardRow, index: number, lease: string | undefined): TopologyForward {
  const guest = f.guestAddr || lease;
  const p = f.protocol;
  const label = `${p} ${f.hostAddr || '0.0.0.0'}:${f.hostPort} → ${guest || 'guest'}:${f.guestPort}`;
  const toGuest = `${p}.dstport == ${f.guestPort}${guest ? ` && ip.dst == ${guest}` : ''}`;
  const fromGuest = `${p}.srcport == ${f.guestPort}${guest ? ` && ip.src == ${guest}` : ''}`;
  return {
    id: `hostfwd-${index}`, kind: 'hostfwd', label, title: `hostfwd ${label}`,
    targets: {
      capture: `${p}.port == ${f.guestPort}${guest ? ` && ip.addr == ${guest}` : ''}`,
      // The host's connection (or datagram) reaches the guest through ip_output first.
      break: { stage: 'ip_output', condition: toGuest },
      sessions: toGuest,
      conditions: [
        { label: `Toward the guest's port ${f.guestPort}`, stage: 'ip_output', filter: toGuest },
        { label: `From the guest's port ${f.guestPort}`, stage: 'ip_input', filter: fromGuest },
      ],
    },
  };
}

export function guestForwardPart(f: TopologyBody['guestForwards'][number], index: number): TopologyForward {
  const label = `tcp ${f.server} → ${f.target}`;
  const colon = f.server.lastIndexOf(':');
  const [addr, port] = [f.server.slice(0, colon), f.server.slice(colon + 1)];
  const toServer = `ip.dst == ${addr} && tcp.dstport == ${port}`;
  return {
    id: `guestfwd-${index}`, kind: 'guestfwd', label, title: `guestfwd ${label}`,
    targets: {
      capture: `ip.addr == ${addr} && tcp.port == ${port}`,
      break: { stage: 'tcp_input', condition: toServer },
      sessions: toServer,
      conditions: [
        { label: `From the guest to ${f.server}`, stage: 'ip_input', filter: toServer },
        { label: `From ${f.server} to the guest`, stage: 'ip_output', filter: `ip.src == ${addr} && tcp.srcport == ${port}` },
      ],
    },
  };
}
