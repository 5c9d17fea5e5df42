/**
 * Where conditions may be set: the stages a whole packet crosses between the
 * NIC and the host sockets. The NIC's own stages belong to the guest's DMA and
 * registers (holding there would hold the emulated hardware), and sosend and
 * soread carry a byte stream that TCP has already acknowledged: losing or
 * delaying bytes there is not a network condition.
 */
import { stagePosition } from '../stage-chain';
import { stageRunsUnder, type EngineKind, type StageName } from '../stages';

export const CONDITION_STAGES: readonly StageName[] = [
  'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'arp_input', 'ip_input',
  'tcp_input', 'udp_input', 'icmp_input', 'bootp_input', 'tftp_input', 'dns_input', 'sosendto',
  'sorecvfrom', 'tcp_output', 'udp_output', 'icmp_reflect', 'ip_output', 'if_output',
  'net_slirp_send_packet', 'qemu_receive_packet',
];

const ALLOWED: ReadonlySet<string> = new Set(CONDITION_STAGES);

export function conditionsAllowedAt(stage: StageName): boolean {
  return ALLOWED.has(stage);
}

/** Why `stage` takes no conditions, and where to put them instead. */
export function whyNoConditionsAt(stage: StageName): string {
  if (stage === 'sosend') return `sosend carries the guest's TCP byte stream, not packets: put conditions on tcp_input`;
  if (stage === 'soread') return `soread carries bytes read from a host socket, not packets: put conditions on tcp_output`;
  return `${stage} is a NIC stage (the guest's registers and DMA): put conditions on qemu_send_packet or qemu_receive_packet`;
}

/**
 * Under the QEMU engine the net queue stages are QEMU's: a rule there never
 * matches anything. Says so, and which of our stages does the same.
 */
export function foreignConditionStage(stage: StageName, engine: EngineKind): string | undefined {
  if (stageRunsUnder(engine, stage)) return undefined;
  const ours = stagePosition(stage).direction === 'tx' ? 'net_slirp_receive' : 'net_slirp_send_packet';
  return `${stage} is QEMU's under the QEMU engine, not ours: the rule on it never matches; put it on ${ours}`;
}
