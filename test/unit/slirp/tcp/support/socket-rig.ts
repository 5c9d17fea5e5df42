/**
 * A TcpSocket with no stack, no host socket and no event loop: its segments
 * cross a seeded lossy link (link.ts) to the reference guest TCP (guest-tcp.ts)
 * and back, on a manual clock. The socket's consumer is this rig: it keeps what
 * the socket delivers, may hold it unread (a backlog that closes the window),
 * and feeds bytes to send as the socket asks for them.
 */
import { DEFAULT_TCP_LIMITS, type TcpLimits } from '../../../../../extension/slirp/tcp/limits';
import { parseOptions, TcpOptions, TcpSegmentView } from '../../../../../extension/slirp/tcp/segment';
import { TcpSocket, type TcpSocketOwner } from '../../../../../extension/slirp/tcp/tcp-socket';
import { checksum, DEFAULT_GUEST_OPTIONS, GuestTcp, parseSegment, type GuestTcpOptions, type ParsedSegment } from './guest-tcp';
import { LinkDirection, PERFECT_LINK, type LinkConditions } from './link';
import { ManualClock } from './manual-clock';
import { seededRandom } from './prng';

const GUEST_ADDR = 0x0a00020f;
const LOCAL_ADDR = 0x0a000202;
const GUEST_PORT = 40000;
const LOCAL_PORT = 80;

export interface RigOptions {
  seed?: number;
  link?: LinkConditions;
  limits?: Partial<TcpLimits>;
  guest?: Partial<GuestTcpOptions>;
}

export class SocketRig {
  readonly clock = new ManualClock();
  readonly limits: TcpLimits;
  /** Toward the guest, and from it. */
  readonly down: LinkDirection;
  readonly up: LinkDirection;
  readonly guest: GuestTcp;
  socket: TcpSocket | undefined;
  /** Every segment the socket produced, parsed, in order. */
  readonly produced: ParsedSegment[] = [];
  /** Drop reasons the socket reported, counted. */
  readonly drops: Record<string, number> = {};
  /** What the socket delivered, in order. */
  readonly delivered: Uint8Array[] = [];
  deliveredBytes = 0;
  /** Bytes delivered and not yet taken (the backlog that shrinks the window); taken at once while `consuming`. */
  backlog = 0;
  consuming = true;
  peerFinished = false;
  aborted = false;
  released = false;
  timeWaitEntered = false;
  /** Bytes still to give the socket (send()) as it asks for them, then close() when `closeAfter`. */
  private toSend: Uint8Array = new Uint8Array(0);
  private sendOffset = 0;
  private closeAfter = false;
  private readonly view = new TcpSegmentView();
  private readonly options = new TcpOptions();

  constructor(opts: RigOptions = {}) {
    const random = seededRandom(opts.seed ?? 1);
    const link = opts.link ?? PERFECT_LINK;
    this.limits = { ...DEFAULT_TCP_LIMITS, ...opts.limits };
    this.down = new LinkDirection(this.clock, random, link, (seg) => this.toGuest(seg));
    this.up = new LinkDirection(this.clock, random, link, (seg) => this.fromGuest(seg));
    this.guest = new GuestTcp(GUEST_ADDR, GUEST_PORT, LOCAL_ADDR, LOCAL_PORT, this.clock, (seg) => this.up.send(seg), { ...DEFAULT_GUEST_OPTIONS, ...opts.guest });
  }

  /** The guest connects; the socket listens and accepts at once. */
  guestConnects(): void {
    this.guest.connect();
  }

  /** The socket opens toward a listening guest. */
  socketConnects(): void {
    const s = this.createSocket();
    this.listenInGuest = true;
    s.connect();
  }

  private listenInGuest = false;

  /** Bytes for the guest, given to the socket as fast as it takes them; FIN after them when `close`. */
  sendToGuest(data: Uint8Array, close = false): void {
    this.toSend = data;
    this.sendOffset = 0;
    this.closeAfter = close;
    this.feed();
  }

  /** The consumer takes what it holds (and goes on taking). */
  consume(): void {
    this.consuming = true;
    this.backlog = 0;
    this.socket?.backlogDrained();
  }

  /** Delivered bytes, joined. */
  data(): Buffer {
    return Buffer.concat(this.delivered);
  }

  /** Moves the clock in 1 ms steps (the consumer feeding the socket between them) until `done()` or `maxMs` virtual ms passed; returns whether done. */
  runUntil(done: () => boolean, maxMs = 600_000): boolean {
    for (let t = 0; t < maxMs; t++) {
      if (done()) return true;
      this.clock.advance(1);
      this.feed();
    }
    return done();
  }

  private toGuest(seg: Uint8Array): void {
    if (this.listenInGuest && this.guest.state === 'CLOSED' && !this.guest.resetReceived) {
      const p = parseSegment(seg);
      if (p.flags === 0x02) this.guest.acceptSyn(p);
      return;
    }
    this.guest.input(seg);
  }

  private createSocket(): TcpSocket {
    const rig = this;
    const owner: TcpSocketOwner = {
      clock: this.clock,
      limits: this.limits,
      headroom: 0,
      allocateFrame: (length) => new Uint8Array(length),
      output: (seg) => {
        this.produced.push(parseSegment(seg));
        this.down.send(seg);
      },
      drop: (reason) => {
        this.drops[reason] = (this.drops[reason] ?? 0) + 1;
      },
      challengeAllowed: () => true,
      received: (bytes, start, end) => {
        // The socket keeps no reference: a copy, as a host write would make.
        this.delivered.push(bytes.slice(start, end));
        this.deliveredBytes += end - start;
        if (!this.consuming) this.backlog += end - start;
      },
      peerFinished: () => {
        this.peerFinished = true;
      },
      get backlog() {
        return rig.backlog;
      },
      stateChanged: () => {},
      // As a paused host socket resumes: the next bytes come in a later turn, not inside this call.
      sendSpaceChanged: () => {},
      enteredTimeWait: () => {
        this.timeWaitEntered = true;
      },
      aborted: () => {
        this.aborted = true;
      },
      released: () => {
        this.released = true;
      },
    };
    this.socket = new TcpSocket({ localAddr: LOCAL_ADDR, localPort: LOCAL_PORT, peerAddr: GUEST_ADDR, peerPort: GUEST_PORT }, owner);
    return this.socket;
  }

  /** Gives the socket bytes while it wants them, in 64 KiB reads (as a host socket would), then its FIN. */
  private feed(): void {
    const s = this.socket;
    if (!s || s.state === 'CLOSED') return;
    while (this.sendOffset < this.toSend.length && s.wantsData) {
      const n = Math.min(65536, this.toSend.length - this.sendOffset);
      s.send(this.toSend.subarray(this.sendOffset, this.sendOffset + n));
      this.sendOffset += n;
    }
    if (this.closeAfter && this.sendOffset === this.toSend.length && (s.state === 'ESTABLISHED' || s.state === 'CLOSE_WAIT')) {
      this.closeAfter = false;
      s.close();
    }
  }

  private fromGuest(seg: Uint8Array): void {
    if (checksum(GUEST_ADDR, LOCAL_ADDR, seg) !== 0) throw new Error('the guest sent a bad checksum');
    const v = this.view;
    const bad = v.wrap(seg) ?? parseOptions(seg, v.headerLength, this.options);
    if (bad) throw new Error(`the guest sent a segment the socket cannot read: ${bad}`);
    if (!this.socket || (this.socket.state === 'CLOSED' && v.flags === 0x02)) {
      if (this.listenInGuest || v.flags !== 0x02) return;
      const s = this.createSocket();
      s.listen(v, this.options);
      s.accept();
      return;
    }
    this.socket.input(v, this.options);
  }
}

export { GUEST_ADDR, LOCAL_ADDR, GUEST_PORT, LOCAL_PORT };
