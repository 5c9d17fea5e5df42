import { set32 } from '../wire/bytes';
import { ArpView, ARP_LENGTH, ARP_REPLY, ARP_REQUEST } from '../wire/arp';
import { EthernetView, ETHERTYPE_ARP, ETH_HEADER_LENGTH } from '../wire/ethernet';
import { BROADCAST_MAC } from '../wire/bytes';

/** libslirp keeps 16 ARP entries; a guest network has one guest, so this is generous. */
const ARP_TABLE_SIZE = 16;
/** Ethernet minimum without FCS: short replies are padded like a real NIC does. */
const MIN_FRAME = 60;

/** The MAC that answers for a virtual address: 52:55 then the address, as libslirp does. */
export function virtualMac(gatewayMac: Uint8Array, addr: number): Uint8Array {
  const mac = new Uint8Array(6);
  mac[0] = gatewayMac[0]!;
  mac[1] = gatewayMac[1]!;
  set32(mac, 2, addr);
  return mac;
}

/** IPv4 -> MAC of the guest side, learned from the guest's ARP and IP traffic. */
export class ArpTable {
  private entries = new Map<number, Uint8Array>();

  learn(ip: number, mac: Uint8Array): boolean {
    if (ip === 0 || (mac[0]! & 1) !== 0) return false;
    const known = this.entries.get(ip);
    if (known && known.every((b, i) => b === mac[i])) return false;
    this.entries.delete(ip);
    if (this.entries.size >= ARP_TABLE_SIZE) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(ip, mac.slice(0, 6));
    return true;
  }

  lookup(ip: number): Uint8Array | undefined {
    return this.entries.get(ip);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The result of arp_input: a frame to send back, and whether a new mapping was learned. */
export interface ArpOutcome {
  reply?: Uint8Array;
  learned: boolean;
  drop?: string;
}

/**
 * arp_input: learns the sender when it is on the guest network, and answers
 * requests for the addresses the stack serves (gateway, DNS, guestfwd servers).
 */
export function arpInput(
  frame: Uint8Array,
  table: ArpTable,
  inNet: (ip: number) => boolean,
  serves: (ip: number) => boolean,
  gatewayMac: Uint8Array,
): ArpOutcome {
  const arp = ArpView.of(frame.subarray(ETH_HEADER_LENGTH));
  if (!arp) return { learned: false, drop: 'arp-truncated' };
  if (!arp.isEthernetIpv4) return { learned: false, drop: 'arp-bad-format' };
  const op = arp.operation;
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return { learned: false, drop: 'arp-bad-operation' };
  const sender = arp.senderIp;
  const learned = inNet(sender) && !serves(sender) ? table.learn(sender, arp.senderMac) : false;
  if (op !== ARP_REQUEST) return { learned };
  const target = arp.targetIp;
  if (!serves(target)) return { learned };
  const mac = virtualMac(gatewayMac, target);
  const reply = new Uint8Array(MIN_FRAME);
  const eth = EthernetView.create(reply);
  eth.setDestination(arp.senderMac);
  eth.setSource(mac);
  eth.etherType = ETHERTYPE_ARP;
  const r = ArpView.create(reply.subarray(ETH_HEADER_LENGTH, ETH_HEADER_LENGTH + ARP_LENGTH));
  r.operation = ARP_REPLY;
  r.setSenderMac(mac);
  r.senderIp = target;
  r.setTargetMac(arp.senderMac);
  r.targetIp = sender;
  return { reply, learned };
}

/** An ARP request from the gateway for a guest address whose MAC is not known yet. */
export function arpRequest(gatewayMac: Uint8Array, gatewayIp: number, targetIp: number): Uint8Array {
  const frame = new Uint8Array(MIN_FRAME);
  const eth = EthernetView.create(frame);
  eth.setDestination(BROADCAST_MAC);
  eth.setSource(gatewayMac);
  eth.etherType = ETHERTYPE_ARP;
  const r = ArpView.create(frame.subarray(ETH_HEADER_LENGTH, ETH_HEADER_LENGTH + ARP_LENGTH));
  r.operation = ARP_REQUEST;
  r.setSenderMac(gatewayMac);
  r.senderIp = gatewayIp;
  r.targetIp = targetIp;
  return frame;
}
