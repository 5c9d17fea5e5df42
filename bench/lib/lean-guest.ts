/**
 * A minimal guest TCP for throughput benchmarks of TcpStack. The guest of the
 * unit tests (test/unit/slirp/tcp/support/guest-tcp.ts) is built to be obviously
 * right, not cheap: it would dominate the cost being measured. This one is the
 * opposite: a lossless link only, no retransmission, no SACK or timestamps,
 * one reused header buffer, a payload whose checksum is computed once. What
 * it costs per segment is small next to the stack, and it allocates almost
 * nothing, so time and allocations measured around it are the stack's.
 *
 * Segments from the stack arrive synchronously inside its output call; the
 * guest reacts in a microtask, as a NIC interrupt would run after the sender
 * returns, so the stack is never re-entered.
 */

const FIN = 1,
  SYN = 2,
  RST = 4,
  PSH = 8,
  ACK = 16;

/** One's complement sum of 16-bit words (not folded). */
export function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  return s;
}

const get32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export interface LeanGuestOptions {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  /** MSS offered in the SYN (MTU - 40). */
  mss: number;
  /** Receive window the guest advertises, in bytes (window scale 7). */
  rcvWindow?: number;
  /** Largest amount of unacknowledged data in flight when pushing. */
  maxFlight?: number;
  /** Data segments received per ACK sent (2; 1 is Linux's quick-ACK at a connection's start). */
  ackEvery?: number;
}

/** The stack's guest-facing entry (TcpStack.input). */
export type StackInput = (src: number, dst: number, segment: Uint8Array) => void;

const WSCALE = 7;

export class LeanGuest {
  state: 'CLOSED' | 'SYN_SENT' | 'ESTABLISHED' | 'FIN_SENT' | 'DONE' | 'RESET' = 'CLOSED';
  /** Data segments sent to the stack / received from it. */
  segmentsOut = 0;
  segmentsIn = 0;
  bytesReceived = 0;
  finReceived = false;
  peerMss = 536;

  private readonly iss = 1_000_000;
  private sndUna = 0;
  private sndNxt = 0;
  private sndWnd = 0;
  private sndScale = 0;
  private rcvNxt = 0;
  private unackedSegments = 0;
  private ackScheduled = false;
  private pumpScheduled = false;
  private toSend = 0;
  private sent = 0;
  private finWanted = false;
  /** Header (20 bytes) followed by room for the largest payload. */
  private readonly seg: Uint8Array;
  private readonly view: DataView;
  private readonly payloadSum: number;
  private readonly fullSegment: Uint8Array;
  private readonly bareSegment: Uint8Array;
  private readonly pseudoBase: number;
  private waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  constructor(
    private readonly input: StackInput,
    readonly o: LeanGuestOptions,
  ) {
    this.seg = new Uint8Array(20 + o.mss + 8);
    this.view = new DataView(this.seg.buffer);
    this.fullSegment = this.seg.subarray(0, 20 + o.mss);
    this.bareSegment = this.seg.subarray(0, 20);
    // A fixed payload pattern: its checksum contribution is computed once.
    for (let i = 0; i < o.mss; i++) this.seg[20 + i] = (i * 31 + 7) & 0xff;
    this.payloadSum = sum16(this.seg, 20, o.mss);
    this.pseudoBase = (o.src >>> 16) + (o.src & 0xffff) + (o.dst >>> 16) + (o.dst & 0xffff) + 6;
  }

  private get rcvWindow(): number {
    return this.o.rcvWindow ?? 4 << 20;
  }

  /** Sends a SYN; resolves once the connection is established. */
  connect(): Promise<void> {
    this.state = 'SYN_SENT';
    const b = this.seg;
    const opts = [2, 4, this.o.mss >> 8, this.o.mss & 255, 1, 3, 3, WSCALE];
    const saved = b.slice(20, 28);
    b.set(opts, 20);
    this.send(this.iss, 0, SYN, 28, 0, false);
    b.set(saved, 20);
    this.sndUna = this.sndNxt = (this.iss + 1) >>> 0;
    return this.until(() => this.state !== 'SYN_SENT').then(() => {
      if (this.state !== 'ESTABLISHED') throw new Error(`connection to port ${this.o.dstPort} was ${this.state}`);
    });
  }

  /** Pushes `bytes` of data then FIN; resolves when everything (FIN included) is acknowledged. */
  push(bytes: number, fin = true): Promise<void> {
    this.toSend += bytes;
    this.finWanted = fin;
    this.pump();
    return this.until(() => this.state === 'RESET' || (this.sent === this.toSend && this.sndUna === this.sndNxt && (!fin || this.state === 'FIN_SENT')));
  }

  /** Resolves once `bytes` were received or the peer's FIN arrived. */
  received(bytes: number): Promise<void> {
    return this.until(() => this.state === 'RESET' || this.bytesReceived >= bytes || this.finReceived);
  }

  /** Sends our FIN (after a pull) and resolves when it is acknowledged. */
  close(): Promise<void> {
    if (this.state !== 'ESTABLISHED') return Promise.resolve();
    this.finWanted = true;
    this.pump();
    return this.until(() => this.state === 'RESET' || (this.state === 'FIN_SENT' && this.sndUna === this.sndNxt));
  }

  /** Aborts with RST (the stack releases the connection at once). */
  abort(): void {
    if (this.state === 'CLOSED' || this.state === 'RESET') return;
    this.send(this.sndNxt, this.rcvNxt, RST | ACK, 20, 0, false);
    this.state = 'RESET';
  }

  /** A segment from the stack: its TCP header and payload from `at` to the end of `s`. Read without allocating. */
  deliver(s: Uint8Array, at = 0): void {
    const flags = s[at + 13]! & 0x3f;
    const hl = (s[at + 12]! >> 4) * 4;
    const seq = get32(s, at + 4);
    const ack = get32(s, at + 8);
    const window = (s[at + 14]! << 8) | s[at + 15]!;
    if (flags & RST) {
      this.state = 'RESET';
      this.wake();
      return;
    }
    if (this.state === 'SYN_SENT') {
      if ((flags & (SYN | ACK)) !== (SYN | ACK)) return;
      for (let i = at + 20; i < at + hl; ) {
        const k = s[i]!;
        if (k === 0) break;
        if (k === 1) {
          i++;
          continue;
        }
        if (k === 2) this.peerMss = (s[i + 2]! << 8) | s[i + 3]!;
        if (k === 3) this.sndScale = s[i + 2]!;
        i += Math.max(2, s[i + 1]!);
      }
      this.rcvNxt = (seq + 1) >>> 0;
      this.sndUna = ack;
      this.sndWnd = window; // never scaled in a SYN
      this.state = 'ESTABLISHED';
      this.scheduleAck(true);
      this.wake();
      return;
    }
    if (flags & ACK && ((ack - this.sndUna) | 0) > 0 && ((ack - this.sndNxt) | 0) <= 0) {
      this.sndUna = ack;
    }
    if (flags & ACK) this.sndWnd = window << this.sndScale;
    const len = s.length - at - hl;
    if (len > 0 || flags & FIN) {
      if (seq === this.rcvNxt) {
        this.rcvNxt = (this.rcvNxt + len + (flags & FIN ? 1 : 0)) >>> 0;
        this.bytesReceived += len;
        if (len > 0) this.segmentsIn++;
        if (flags & FIN) this.finReceived = true;
        this.scheduleAck(flags & FIN ? true : ++this.unackedSegments >= (this.o.ackEvery ?? 2));
      } else {
        this.scheduleAck(true);
      }
    }
    this.schedulePump();
    this.wake();
  }

  private scheduleAck(now: boolean): void {
    if (!now) return;
    this.unackedSegments = 0;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(this.ackTask);
  }

  // One closure each for the whole run: the guest's own allocations stay out of the stack's figures.
  private readonly ackTask = (): void => {
    this.ackScheduled = false;
    if (this.state === 'RESET') return;
    this.send(this.sndNxt, this.rcvNxt, ACK, 20, 0, false);
  };

  private readonly pumpTask = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  private schedulePump(): void {
    if (this.pumpScheduled || (this.sent === this.toSend && !this.finWanted)) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pumpTask);
  }

  private pump(): void {
    if (this.state !== 'ESTABLISHED') return;
    const cap = this.o.maxFlight ?? 1 << 20;
    const mss = Math.min(this.o.mss, this.peerMss);
    for (;;) {
      const inFlight = (this.sndNxt - this.sndUna) | 0;
      const room = Math.min(this.sndWnd, cap) - inFlight;
      const left = this.toSend - this.sent;
      if (left > 0) {
        const len = Math.min(left, mss);
        // Small windows: wait for a full segment unless it is the last piece.
        if (room < len) break;
        const fin = len === left && this.finWanted;
        // The stack may ACK inside input(): the segment must already count as sent.
        const seq = this.sndNxt;
        this.unackedSegments = 0;
        this.segmentsOut++;
        this.sent += len;
        this.sndNxt = (this.sndNxt + len + (fin ? 1 : 0)) >>> 0;
        if (fin) this.state = 'FIN_SENT';
        this.send(seq, this.rcvNxt, ACK | (len === left ? PSH : 0) | (fin ? FIN : 0), 20, len, true);
        if (this.state !== 'ESTABLISHED') break;
        continue;
      }
      if (this.finWanted && this.state === 'ESTABLISHED') {
        const seq = this.sndNxt;
        this.sndNxt = (this.sndNxt + 1) >>> 0;
        this.state = 'FIN_SENT';
        this.send(seq, this.rcvNxt, ACK | FIN, 20, 0, false);
      }
      break;
    }
  }

  /** Builds the segment in the reused buffer and hands it to the stack (which copies what it keeps). */
  private send(seq: number, ack: number, flags: number, headerLength: number, payloadLength: number, withPayload: boolean): void {
    const b = this.seg;
    const v = this.view;
    v.setUint16(0, this.o.srcPort);
    v.setUint16(2, this.o.dstPort);
    v.setUint32(4, seq >>> 0);
    v.setUint32(8, flags & ACK ? ack >>> 0 : 0);
    b[12] = (headerLength / 4) << 4;
    b[13] = flags;
    v.setUint16(14, Math.min(65535, this.rcvWindow >> (flags & SYN ? 0 : WSCALE)));
    v.setUint32(16, 0); // checksum and urgent pointer
    const total = headerLength + (withPayload ? payloadLength : 0);
    let s = this.pseudoBase + total + sum16(b, 0, headerLength);
    if (withPayload) s += payloadLength === this.o.mss ? this.payloadSum : sum16(b, 20, payloadLength);
    v.setUint16(16, ~fold(s) & 0xffff);
    // Full-sized segments and bare ACKs, the bulk of a run, reuse one view of the buffer each.
    let segment = total === 20 ? this.bareSegment : this.fullSegment;
    if (segment.length !== total) segment = b.subarray(0, total);
    this.input(this.o.src, this.o.dst, segment);
  }

  private until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  private wake(): void {
    // An index loop, not waiters.some(w => ...) or for-of: a closure or an iterator per segment would count as the stack's.
    if (!this.waiters.length) return;
    let due = false;
    for (let i = 0; i < this.waiters.length && !due; i++) due = this.waiters[i]!.pred();
    if (!due) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.pred() ? w.resolve() : still.push(w));
    this.waiters = still;
  }
}
