import { ProbeHub } from '../../../../../extension/pipeline/probe';
import { DEFAULT_SLIRP_CONFIG } from '../../../../../extension/slirp/config';
import { Slirp } from '../../../../../extension/slirp/slirp';
import { checksum as ipChecksum, eth, GUEST_IP, GUEST_MAC, HOST_IP, ipv4 } from '../../helpers/frames';
import { DEFAULT_GUEST_OPTIONS, GuestTcp, type GuestOffer } from './guest-tcp';
import { ManualClock } from './manual-clock';

/** One IPv4 datagram the slirp sent to the guest, as seen on the wire. */
export interface WireDatagram {
  totalLength: number;
  headerLength: number;
  /** More-fragments flag or a non-zero offset: this is a piece of a fragmented datagram. */
  fragment: boolean;
  protocol: number;
  /** The IP payload (the TCP segment when unfragmented). */
  payload: Uint8Array;
}

/**
 * The real Slirp (with the real TCP layer) behind a synthetic guest: the
 * guest's TCP segments are framed as Ethernet/IPv4 by the test's own builders,
 * and every frame the slirp emits is parsed here (independently of the stack)
 * before its TCP segment reaches the guest.
 */
export class SlirpGuest {
  readonly clock = new ManualClock();
  readonly slirp: Slirp;
  /** Every IPv4 datagram toward the guest, fragments included. */
  readonly datagrams: WireDatagram[] = [];
  /** Frames toward the guest that were not IPv4 (ARP and the like). */
  otherFrames = 0;
  /** Set to drop chosen guest segments before the slirp sees them. */
  dropFromGuest: (segment: Uint8Array) => boolean = () => false;
  private guest: GuestTcp | undefined;

  constructor(config = DEFAULT_SLIRP_CONFIG) {
    this.slirp = new Slirp({
      config,
      clock: this.clock,
      probes: new ProbeHub(),
      guestMac: GUEST_MAC,
      resolvConfPath: '/nonexistent/resolv.conf',
      output: (f) => this.fromSlirp(f.slice()),
    });
  }

  connect(port: number, offer: GuestOffer): GuestTcp {
    const g = new GuestTcp(GUEST_IP, 45000, HOST_IP, port, this.clock, (seg) => this.toSlirp(seg), { ...DEFAULT_GUEST_OPTIONS, offer });
    this.guest = g;
    g.connect();
    return g;
  }

  private toSlirp(segment: Uint8Array): void {
    if (this.dropFromGuest(segment)) return;
    // Delivered on the next clock tick, like a link, so the stacks never re-enter each other.
    this.clock.setTimeout(() => this.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: segment }))), 1);
  }

  private fromSlirp(frame: Uint8Array): void {
    if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) {
      this.otherFrames++;
      return;
    }
    const ip = frame.subarray(14);
    const headerLength = (ip[0] & 15) * 4;
    const totalLength = (ip[2] << 8) | ip[3];
    if (ipChecksum(ip.subarray(0, headerLength)) !== 0) throw new Error('bad IPv4 header checksum from slirp');
    const flagsOffset = (ip[6] << 8) | ip[7];
    const d: WireDatagram = {
      totalLength,
      headerLength,
      fragment: (flagsOffset & 0x3fff) !== 0,
      protocol: ip[9],
      payload: ip.slice(headerLength, totalLength),
    };
    this.datagrams.push(d);
    // A fragment is recorded (the test fails on it) but not reassembled: the guest never sees it.
    if (d.protocol === 6 && !d.fragment && this.guest) {
      const g = this.guest;
      this.clock.setTimeout(() => g.input(d.payload), 1);
    }
  }

  /** Moves virtual time 1 ms per event-loop turn (so host socket I/O runs) until `done()`; fails at the first IP fragment. */
  async run(done: () => boolean, what: string, maxVirtualMs = 60_000, maxRealMs = 8000): Promise<void> {
    const start = this.clock.now();
    const realStart = Date.now();
    while (!done()) {
      const piece = this.datagrams.find((d) => d.fragment);
      if (piece) throw new Error(`slirp fragmented a datagram toward the guest (a ${piece.totalLength}-byte piece) while waiting for ${what}`);
      if (this.clock.now() - start > maxVirtualMs || Date.now() - realStart > maxRealMs) {
        throw new Error(`timed out waiting for ${what} (drops ${JSON.stringify(this.slirp.drops)})`);
      }
      this.clock.advance(1);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  close(): Promise<void> {
    return this.slirp.close();
  }
}
