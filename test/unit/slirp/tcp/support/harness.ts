import { DEFAULT_SLIRP_CONFIG, ETHERNET_MTU, ip4, type SlirpConfig } from '../../../../../extension/slirp/config';
import { NatTable } from '../../../../../extension/slirp/nat';
import type { TcpHost } from '../../../../../extension/slirp/tcp-contract';
import { ProbeHub } from '../../../../../extension/pipeline/probe';
import { TcpStack, type TcpLimits } from '../../../../../extension/slirp/tcp/tcp-stack';
import { buildGuestSegment, DEFAULT_GUEST_OPTIONS, GuestTcp, parseSegment, type GuestTcpOptions, type ParsedSegment } from './guest-tcp';
import { LinkDirection, PERFECT_LINK, type LinkConditions } from './link';
import { ManualClock } from './manual-clock';
import { seededRandom } from './prng';

export const GUEST = ip4(10, 0, 2, 15);
export const GATEWAY = ip4(10, 0, 2, 2);

export interface Captured {
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
}

export interface HarnessOptions {
  seed?: number;
  link?: LinkConditions;
  limits?: Partial<TcpLimits>;
  config?: Partial<SlirpConfig>;
  guest?: Partial<GuestTcpOptions>;
}

/**
 * The stack under test with a fake TcpHost, a synthetic guest behind a lossy
 * link, and a manual clock moved by `run`.
 */
export class Harness {
  readonly clock = new ManualClock();
  readonly probes = new ProbeHub();
  readonly nat = new NatTable();
  readonly config: SlirpConfig;
  readonly stack: TcpStack;
  /** Every datagram the stack sent toward the guest, in order. */
  readonly toGuest: Captured[] = [];
  readonly up: LinkDirection;
  readonly down: LinkDirection;
  readonly guests = new Map<string, GuestTcp>();
  readonly listeners = new Map<number, (g: GuestTcp) => void>();
  /** Segments the guest got for no connection (it answers them with RST like a real guest). */
  strays = 0;
  private nextPort = 40000;
  readonly guestOptions: GuestTcpOptions;

  constructor(opts: HarnessOptions = {}) {
    const random = seededRandom(opts.seed ?? 1);
    // An Ethernet link unless a test says otherwise: segment sizes are easiest to check against 1500.
    this.config = { ...DEFAULT_SLIRP_CONFIG, mtu: ETHERNET_MTU, ...opts.config };
    this.guestOptions = { ...DEFAULT_GUEST_OPTIONS, ...opts.guest };
    const link = opts.link ?? PERFECT_LINK;
    this.down = new LinkDirection(this.clock, random, link, (p) => this.guestReceive(p));
    this.up = new LinkDirection(this.clock, random, link, (p) => this.stack.input(this.lastSrc.get(p) ?? GUEST, this.lastDst.get(p) ?? GATEWAY, p));
    const host: TcpHost = {
      config: this.config,
      clock: this.clock,
      probes: this.probes,
      nat: this.nat,
      // Frames without headroom: what the stack sends is the transport datagram alone.
      headroom: 0,
      allocateFrame: (length) => new Uint8Array(length),
      ipOutput: (src, dst, protocol, payload) => {
        this.toGuest.push({ src, dst, protocol, payload });
        if (protocol === 6) {
          this.downAddr.set(payload, [src, dst]);
          this.down.send(payload);
        }
      },
      hostAddressFor: (dst) => (dst === this.config.host && !this.config.disableHostLoopback ? '127.0.0.1' : null),
      guestAddress: () => this.config.dhcpStart,
    };
    this.stack = new TcpStack(host, opts.limits);
  }

  private lastSrc = new WeakMap<Uint8Array, number>();
  private lastDst = new WeakMap<Uint8Array, number>();
  private downAddr = new WeakMap<Uint8Array, [number, number]>();

  /** Sends a raw segment from the guest (through the link). */
  sendFromGuest(src: number, dst: number, seg: Uint8Array): void {
    this.lastSrc.set(seg, src);
    this.lastDst.set(seg, dst);
    this.up.send(seg);
  }

  /** A guest connection to `remote:port` (10.0.2.2 reaches 127.0.0.1). */
  connect(port: number, remote = GATEWAY, options?: Partial<GuestTcpOptions>): GuestTcp {
    const g = this.makeGuest(this.nextPort++, remote, port, options);
    g.connect();
    return g;
  }

  /** The guest listens on `port` (hostfwd target). */
  listen(port: number, onAccept: (g: GuestTcp) => void = () => {}): void {
    this.listeners.set(port, onAccept);
  }

  private makeGuest(localPort: number, remote: number, remotePort: number, options?: Partial<GuestTcpOptions>): GuestTcp {
    const g = new GuestTcp(GUEST, localPort, remote, remotePort, this.clock, (seg) => this.sendFromGuest(GUEST, remote, seg), {
      ...this.guestOptions,
      ...options,
    });
    this.guests.set(`${localPort}:${remote}:${remotePort}`, g);
    return g;
  }

  private guestReceive(seg: Uint8Array): void {
    const [src] = this.downAddr.get(seg) ?? [GATEWAY, GUEST];
    const p = parseSegment(seg);
    const g = this.guests.get(`${p.dstPort}:${src}:${p.srcPort}`);
    if (g && !(g.state === 'CLOSED' && p.flags & 2)) {
      g.input(seg);
      return;
    }
    const accept = this.listeners.get(p.dstPort);
    if (accept && (p.flags & 0x17) === 2) {
      const ng = this.makeGuest(p.dstPort, src, p.srcPort);
      ng.acceptSyn(p);
      accept(ng);
      return;
    }
    this.strays++;
    if (!(p.flags & 4)) this.rstFor(src, p);
  }

  private rstFor(src: number, p: ParsedSegment): void {
    const hasAck = (p.flags & 16) !== 0;
    const seg = buildGuestSegment({
      src: GUEST,
      dst: src,
      srcPort: p.dstPort,
      dstPort: p.srcPort,
      seq: hasAck ? p.ack : 0,
      ack: (p.seq + p.payload.length + (p.flags & 2 ? 1 : 0) + (p.flags & 1 ? 1 : 0)) >>> 0,
      flags: hasAck ? 4 : 4 | 16,
      window: 0,
    });
    this.sendFromGuest(GUEST, src, seg);
  }

  /** Moves virtual time 1 ms per event-loop turn until `done()` or a limit. */
  async run(done: () => boolean, what = 'condition', maxVirtualMs = 120_000, maxRealMs = 8000): Promise<void> {
    const start = this.clock.now();
    const realStart = Date.now();
    let quiet = 0;
    while (!done()) {
      if (this.clock.now() - start > maxVirtualMs || Date.now() - realStart > maxRealMs) {
        throw new Error(`timed out waiting for ${what} (virtual ${this.clock.now() - start} ms, drops ${JSON.stringify(this.stack.drops)})`);
      }
      // Time runs faster while nothing moves on the link (waiting for a retransmission timer).
      const before = this.up.sent + this.down.sent;
      this.clock.advance(quiet > 20 ? 10 : 1);
      // setImmediate lets the poll phase run socket I/O between turns.
      await new Promise<void>((r) => setImmediate(r));
      quiet = this.up.sent + this.down.sent === before ? quiet + 1 : 0;
    }
  }

  /** Lets real I/O happen without moving virtual time. */
  async settle(turns = 20): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((r) => setTimeout(r, 1));
  }

  close(): void {
    this.stack.close();
  }
}

/** Deterministic test data: byte i of stream `salt`. */
export function pattern(length: number, salt: number): Buffer {
  const b = Buffer.alloc(length);
  let x = (salt * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
