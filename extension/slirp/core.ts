import { formatIpv4 } from '../wire/address';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub, SessionInfo } from '../pipeline/probe';
import type { SlirpConfig } from './config';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import type { DropCounter } from './drops';
import type { NatSession, NatTable } from './nat';
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { IPV4_MIN_HEADER } from '../wire/ipv4';

/** Where a transport header starts in a frame the stack builds for the guest. */
export const TRANSPORT_OFFSET = ETH_HEADER_LENGTH + IPV4_MIN_HEADER;

/**
 * Frames are cut from shared slabs: a Uint8Array of its own per frame costs a
 * backing store and GC tracking each, and a bulk download makes tens of
 * thousands of them a second. A slab is fresh (zeroed) memory, each part handed
 * out once; it is freed when the last frame cut from it is dropped.
 */
const SLAB_BYTES = 256 * 1024;
/** Larger frames (reassembled datagrams, 64 KiB segments) get memory of their own. */
const MAX_SLAB_FRAME = 16 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** A zeroed frame with room for Ethernet and IPv4 headers before `payloadLength` transport bytes. */
export function allocateFrame(payloadLength: number): Uint8Array {
  const size = TRANSPORT_OFFSET + payloadLength;
  if (size > MAX_SLAB_FRAME) return new Uint8Array(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const frame = slab.subarray(slabUsed, slabUsed + size);
  // 8-byte aligned starts keep word-wise checksum reads aligned.
  slabUsed += (size + 7) & ~7;
  return frame;
}

/** What the protocol modules (arp, icmp, udp, dhcp, dns) share of the Slirp instance. */
export interface SlirpCore {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly nat: NatTable;
  readonly dropCounter: DropCounter;
  readonly paused: boolean;
  log(message: string): void;
  /**
   * ip_output: `frame` came from allocateFrame and holds the transport header and
   * data from TRANSPORT_OFFSET; the IPv4 and Ethernet headers are written here.
   */
  ip_output(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void;
  /** Host address a guest destination reaches, or null (restrict, disabled loopback, unknown virtual address). */
  hostAddressFor(guestDst: number): string | null;
  /** The guest's address (DHCP lease, else dhcpstart). */
  readonly guestAddress: number;
}

/** What the stage files (ip_input, udp_input, ip_output, if) share of the Slirp instance besides SlirpCore. */
export interface SlirpStages extends SlirpCore {
  /** True once close() began: nothing more is sent. */
  readonly closed: boolean;
  /** Runs a stage resumed after a probe held it: an exception there is counted as 'internal-error', never thrown. */
  safely(fn: () => void): void;
  /** Counts a refused frame; `stage` only where the reason is decided elsewhere than its usual stage (drop-reasons.ts). */
  drop(reason: DropReason, frame: Uint8Array, stage?: StageName): void;
}

/**
 * The NAT session of a probe hit as it was at the hit. A probe fires for every
 * packet and most hits are only tested by a filter, so the address texts are
 * formatted only when someone reads them; the rest is copied as it stands.
 */
class SessionSnapshot implements SessionInfo {
  readonly id: number;
  readonly protocol: SessionInfo['protocol'];
  readonly state: string;
  readonly guestPort: number;
  readonly hostPort: number;
  private readonly guestIp: number;
  private readonly hostPeer: string;
  private readonly remoteIp: number;
  private readonly guest6: string | undefined;
  private readonly remote6: string | undefined;

  constructor(s: NatSession) {
    this.id = s.id;
    this.protocol = s.protocol;
    this.state = s.state;
    this.guestPort = s.guestPort;
    this.hostPort = s.hostPeerPort || s.remotePort;
    this.guestIp = s.guestAddr;
    this.hostPeer = s.hostPeerAddr;
    this.remoteIp = s.remoteAddr;
    this.guest6 = s.guestAddr6;
    this.remote6 = s.remoteAddr6;
  }

  get guestAddr(): string {
    return this.guest6 ?? formatIpv4(this.guestIp);
  }

  /** The host-side peer; before the host socket is open, the address the guest asked for. */
  get hostAddr(): string {
    return this.hostPeer || (this.remote6 ?? formatIpv4(this.remoteIp));
  }
}

export function sessionInfo(s: NatSession): SessionInfo {
  return new SessionSnapshot(s);
}
