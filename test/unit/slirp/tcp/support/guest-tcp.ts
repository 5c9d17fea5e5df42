/**
 * A small, deliberately simple reference TCP playing the guest. It shares no
 * code with the stack under test (own header encoding, own checksum), so a bug
 * in the stack's wire code cannot hide behind the same bug here.
 *
 * Sender: go-back-N with a fixed-base RTO and fast retransmit on 3 dup ACKs.
 * Receiver: keeps out-of-order data (and reports it with SACK when allowed),
 * ACKs every segment, advertises the space its application has not read.
 */

const F_FIN = 1,
  F_SYN = 2,
  F_RST = 4,
  F_PSH = 8,
  F_ACK = 16;

export interface GuestOffer {
  mss?: number;
  windowScale?: number;
  timestamps?: boolean;
  sackPermitted?: boolean;
}

export interface ParsedSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Uint8Array;
  mss?: number;
  windowScale?: number;
  sackPermitted: boolean;
  ts?: [number, number];
  sack: Array<[number, number]>;
}

const lt = (a: number, b: number) => ((a - b) | 0) < 0;
const leq = (a: number, b: number) => ((a - b) | 0) <= 0;
const add = (a: number, n: number) => (a + n) >>> 0;
const diff = (a: number, b: number) => (a - b) | 0;

export function checksum(src: number, dst: number, seg: Uint8Array): number {
  let sum = 0;
  const words = [src >>> 16, src & 0xffff, dst >>> 16, dst & 0xffff, 6, seg.length];
  for (const w of words) sum += w;
  for (let i = 0; i < seg.length; i += 2) sum += (seg[i] << 8) | (i + 1 < seg.length ? seg[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function parseSegment(seg: Uint8Array): ParsedSegment {
  const dv = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const hl = (seg[12] >> 4) * 4;
  const out: ParsedSegment = {
    srcPort: dv.getUint16(0),
    dstPort: dv.getUint16(2),
    seq: dv.getUint32(4),
    ack: dv.getUint32(8),
    flags: seg[13] & 0x3f,
    window: dv.getUint16(14),
    payload: seg.subarray(hl),
    sackPermitted: false,
    sack: [],
  };
  for (let i = 20; i < hl; ) {
    const k = seg[i];
    if (k === 0) break;
    if (k === 1) {
      i++;
      continue;
    }
    const len = seg[i + 1];
    if (k === 2) out.mss = dv.getUint16(i + 2);
    if (k === 3) out.windowScale = seg[i + 2];
    if (k === 4) out.sackPermitted = true;
    if (k === 8) out.ts = [dv.getUint32(i + 2), dv.getUint32(i + 6)];
    if (k === 5) for (let p = i + 2; p + 8 <= i + len; p += 8) out.sack.push([dv.getUint32(p), dv.getUint32(p + 4)]);
    i += Math.max(2, len);
  }
  return out;
}

export interface BuildArgs {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload?: Uint8Array;
  options?: number[];
}

export function buildGuestSegment(a: BuildArgs): Uint8Array {
  const opts = a.options ?? [];
  while (opts.length % 4) opts.push(1);
  const hl = 20 + opts.length;
  const payload = a.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(hl + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, a.srcPort);
  dv.setUint16(2, a.dstPort);
  dv.setUint32(4, a.seq >>> 0);
  dv.setUint32(8, a.ack >>> 0);
  seg[12] = (hl / 4) << 4;
  seg[13] = a.flags;
  dv.setUint16(14, Math.min(65535, a.window));
  seg.set(opts, 20);
  seg.set(payload, hl);
  dv.setUint16(16, checksum(a.src, a.dst, seg));
  return seg;
}

const u32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

export interface GuestClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { id: number };
  clearTimeout(h: { id: number }): void;
}

export interface GuestTcpOptions {
  offer: GuestOffer;
  /** Receive buffer of the guest application. */
  rcvBuf: number;
  /** Largest amount of data in flight. */
  maxFlight: number;
  rtoMs: number;
}

export const DEFAULT_GUEST_OPTIONS: GuestTcpOptions = {
  offer: { mss: 1460, windowScale: 2, timestamps: true, sackPermitted: true },
  rcvBuf: 256 * 1024,
  maxFlight: 128 * 1024,
  rtoMs: 200,
};

export type GuestState = 'CLOSED' | 'SYN_SENT' | 'SYN_RCVD' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2' | 'CLOSING' | 'TIME_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK';

/** One guest-side connection. */
export class GuestTcp {
  state: GuestState = 'CLOSED';
  /** What the application has received, in order. */
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  /** Bytes received but not yet read by the application (it reads unless `reading` is false). */
  unread = 0;
  reading = true;
  finReceived = false;
  resetReceived = false;
  synAckOptions?: ParsedSegment;
  /** Largest window the peer advertised (scaled). */
  peerWindow = 0;
  minPeerWindowSeen = Infinity;
  segmentsIn = 0;
  retransmissions = 0;

  private iss = (Math.random() * 2 ** 32) >>> 0;
  private sndUna = this.iss;
  private sndNxt = this.iss;
  private out: Uint8Array = new Uint8Array(0);
  private outLen = 0;
  private finWanted = false;
  private rcvNxt = 0;
  private peerScale = 0;
  private myScale = 0;
  private tsOn = false;
  private sackOn = false;
  private tsRecent = 0;
  private mss = 536;
  private dupAcks = 0;
  private rto: { id: number } | undefined;
  private backoff = 0;
  private ooo = new Map<number, Uint8Array>();

  constructor(
    readonly localAddr: number,
    readonly localPort: number,
    readonly remoteAddr: number,
    readonly remotePort: number,
    private readonly clock: GuestClock,
    private readonly transmit: (seg: Uint8Array) => void,
    readonly opts: GuestTcpOptions,
  ) {}

  /** All data received so far, joined. */
  data(): Buffer {
    return Buffer.concat(this.received);
  }

  connect(): void {
    this.state = 'SYN_SENT';
    this.sendSyn(false);
  }

  /** Passive open on a SYN from the stack (hostfwd). */
  acceptSyn(p: ParsedSegment): void {
    this.state = 'SYN_RCVD';
    this.rcvNxt = add(p.seq, 1);
    this.learn(p);
    this.sendSyn(true);
  }

  write(data: Uint8Array): void {
    const need = this.outLen + data.length;
    if (need > this.out.length) {
      const grown = new Uint8Array(Math.max(need, this.out.length * 2));
      grown.set(this.out.subarray(0, this.outLen));
      this.out = grown;
    }
    this.out.set(data, this.outLen);
    this.outLen += data.length;
    this.pump();
  }

  end(): void {
    this.finWanted = true;
    this.pump();
  }

  /** Sends RST and forgets the connection. */
  abort(): void {
    this.emit(this.sndNxt, F_RST | F_ACK, undefined);
    this.state = 'CLOSED';
    this.stopRto();
  }

  /** The application reads what is buffered (and keeps reading when `resume`). */
  read(resume = true): void {
    const wasClosed = this.window() < this.mss;
    this.unread = 0;
    this.reading = resume;
    if (wasClosed) this.sendAck();
  }

  get bytesUnacked(): number {
    return diff(this.sndNxt, this.sndUna);
  }

  get allDataAcked(): boolean {
    return this.sndUna === add(this.iss, 1 + this.outLen + (this.finWanted ? 1 : 0));
  }

  private learn(p: ParsedSegment): void {
    const o = this.opts.offer;
    this.mss = Math.min(p.mss ?? 536, o.mss ?? 1460);
    if (p.windowScale !== undefined && o.windowScale !== undefined) {
      this.peerScale = p.windowScale;
      this.myScale = o.windowScale;
    }
    this.tsOn = !!(p.ts && o.timestamps);
    this.sackOn = !!(p.sackPermitted && o.sackPermitted);
    if (p.ts) this.tsRecent = p.ts[0];
    this.synAckOptions = p;
  }

  private window(): number {
    return Math.max(0, this.opts.rcvBuf - this.unread);
  }

  private sendSyn(ack: boolean): void {
    const o = this.opts.offer;
    const opts: number[] = [];
    if (o.mss) opts.push(2, 4, o.mss >> 8, o.mss & 255);
    // In a SYN-ACK only what the peer offered may be echoed.
    const peer = this.synAckOptions;
    if (o.sackPermitted && (!ack || peer?.sackPermitted)) opts.push(4, 2);
    if (o.timestamps && (!ack || peer?.ts)) opts.push(8, 10, ...u32(this.clock.now() >>> 0), ...u32(this.tsRecent));
    if (o.windowScale !== undefined && (!ack || peer?.windowScale !== undefined)) opts.push(1, 3, 3, o.windowScale);
    this.sndNxt = add(this.iss, 1);
    this.raw(this.iss, ack ? F_SYN | F_ACK : F_SYN, undefined, opts, Math.min(65535, this.window()));
    this.armRto();
  }

  private raw(seq: number, flags: number, payload: Uint8Array | undefined, options: number[], window: number): void {
    this.transmit(
      buildGuestSegment({
        src: this.localAddr,
        dst: this.remoteAddr,
        srcPort: this.localPort,
        dstPort: this.remotePort,
        seq,
        ack: flags & F_ACK ? this.rcvNxt : 0,
        flags,
        window,
        payload,
        options,
      }),
    );
  }

  private emit(seq: number, flags: number, payload: Uint8Array | undefined): void {
    const opts: number[] = [];
    if (this.tsOn) opts.push(1, 1, 8, 10, ...u32(this.clock.now() >>> 0), ...u32(this.tsRecent));
    if (this.sackOn && this.ooo.size && flags & F_ACK) {
      const blocks = this.sackBlocks().slice(0, this.tsOn ? 3 : 4);
      if (blocks.length) {
        opts.push(1, 1, 5, 2 + 8 * blocks.length);
        for (const [l, r] of blocks) opts.push(...u32(l), ...u32(r));
      }
    }
    this.raw(seq, flags, payload, opts, Math.min(65535, this.window() >> this.myScale));
  }

  private sackBlocks(): Array<[number, number]> {
    const ranges = [...this.ooo.entries()].map(([s, d]) => [s, add(s, d.length)] as [number, number]).sort((a, b) => diff(a[0], b[0]));
    const merged: Array<[number, number]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && leq(r[0], last[1])) {
        if (lt(last[1], r[1])) last[1] = r[1];
      } else merged.push([...r]);
    }
    return merged.reverse();
  }

  sendAck(): void {
    if (this.state === 'CLOSED') return;
    this.emit(this.sndNxt, F_ACK, undefined);
  }

  private pump(): void {
    if (this.state !== 'ESTABLISHED' && this.state !== 'CLOSE_WAIT') return;
    const dataEnd = add(this.iss, 1 + this.outLen);
    for (;;) {
      const inFlight = diff(this.sndNxt, this.sndUna);
      const room = Math.min(this.peerWindow, this.opts.maxFlight) - inFlight;
      const left = diff(dataEnd, this.sndNxt);
      if (left > 0) {
        const len = Math.min(left, this.mss, room);
        if (len <= 0) break;
        const off = diff(this.sndNxt, add(this.iss, 1));
        const last = len === left;
        const fin = last && this.finWanted;
        this.emit(this.sndNxt, F_ACK | (last ? F_PSH : 0) | (fin ? F_FIN : 0), this.out.subarray(off, off + len));
        this.sndNxt = add(this.sndNxt, len + (fin ? 1 : 0));
        if (fin) this.state = this.state === 'CLOSE_WAIT' ? 'LAST_ACK' : 'FIN_WAIT_1';
        this.armRto();
        continue;
      }
      if (left === 0 && this.finWanted && this.sndNxt === dataEnd) {
        this.emit(this.sndNxt, F_ACK | F_FIN, undefined);
        this.sndNxt = add(this.sndNxt, 1);
        this.state = this.state === 'CLOSE_WAIT' ? 'LAST_ACK' : 'FIN_WAIT_1';
        this.armRto();
      }
      break;
    }
  }

  private armRto(): void {
    if (this.rto) return;
    this.rto = this.clock.setTimeout(() => this.onRto(), Math.min(3000, this.opts.rtoMs * 2 ** this.backoff));
  }

  private stopRto(): void {
    if (this.rto) this.clock.clearTimeout(this.rto);
    this.rto = undefined;
  }

  private onRto(): void {
    this.rto = undefined;
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    this.backoff++;
    this.retransmissions++;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RCVD') {
      this.sendSyn(this.state === 'SYN_RCVD');
      return;
    }
    if (this.sndNxt === this.sndUna) return;
    // Go back N.
    this.sndNxt = this.sndUna;
    if (this.state === 'FIN_WAIT_1' || this.state === 'LAST_ACK' || this.state === 'CLOSING') {
      this.state = this.state === 'LAST_ACK' ? 'CLOSE_WAIT' : 'ESTABLISHED';
    }
    this.pump();
    if (this.peerWindow === 0) {
      // Probe a closed window with one byte.
      const off = diff(this.sndUna, add(this.iss, 1));
      if (off < this.outLen) this.emit(this.sndUna, F_ACK, this.out.subarray(off, off + 1));
    }
    this.armRto();
  }

  /** A segment from the stack. */
  input(seg: Uint8Array): void {
    const p = parseSegment(seg);
    this.segmentsIn++;
    if (p.flags & F_RST) {
      if (this.state === 'SYN_SENT' ? p.ack === add(this.iss, 1) : true) {
        this.resetReceived = true;
        this.state = 'CLOSED';
        this.stopRto();
      }
      return;
    }
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN_SENT') {
      if ((p.flags & (F_SYN | F_ACK)) !== (F_SYN | F_ACK) || p.ack !== add(this.iss, 1)) return;
      this.rcvNxt = add(p.seq, 1);
      this.learn(p);
      this.sndUna = p.ack;
      this.peerWindow = p.window;
      this.state = 'ESTABLISHED';
      this.stopRto();
      this.backoff = 0;
      this.sendAck();
      this.pump();
      return;
    }
    if (p.flags & F_SYN) {
      // Our ACK of the SYN-ACK was lost, or a stale SYN: re-ACK.
      if (this.state === 'SYN_RCVD') this.sendSyn(true);
      else this.sendAck();
      return;
    }
    if (p.ts && this.tsOn && leq(p.seq, this.rcvNxt)) this.tsRecent = p.ts[0];
    if (!(p.flags & F_ACK)) return;
    if (this.state === 'SYN_RCVD') {
      if (p.ack !== add(this.iss, 1)) return;
      this.sndUna = p.ack;
      this.state = 'ESTABLISHED';
      this.stopRto();
      this.backoff = 0;
    }
    // ACK processing.
    const win = p.window << this.peerScale;
    if (lt(this.sndUna, p.ack) && leq(p.ack, this.sndNxtMax())) {
      this.sndUna = p.ack;
      if (lt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
      this.dupAcks = 0;
      this.backoff = 0;
      this.stopRto();
      if (this.sndNxt !== this.sndUna) this.armRto();
      const finAcked = this.finWanted && p.ack === add(this.iss, 2 + this.outLen);
      if (finAcked) {
        if (this.state === 'FIN_WAIT_1') this.state = 'FIN_WAIT_2';
        else if (this.state === 'CLOSING') this.state = 'TIME_WAIT';
        else if (this.state === 'LAST_ACK') this.state = 'CLOSED';
      }
    } else if (p.ack === this.sndUna && p.payload.length === 0 && !(p.flags & F_FIN) && this.sndNxt !== this.sndUna && win === this.peerWindow) {
      if (++this.dupAcks === 3) {
        const off = diff(this.sndUna, add(this.iss, 1));
        const len = Math.min(this.mss, this.outLen - off);
        if (len > 0) {
          this.retransmissions++;
          this.emit(this.sndUna, F_ACK, this.out.subarray(off, off + len));
        }
      }
    }
    this.peerWindow = win;
    if (win < this.minPeerWindowSeen) this.minPeerWindowSeen = win;

    // Data.
    const len = p.payload.length;
    if (len === 0 && !(p.flags & F_FIN) && lt(p.seq, this.rcvNxt)) this.sendAck(); // keepalive probe
    if (len > 0 || p.flags & F_FIN) {
      if (this.finReceived) {
        this.sendAck();
      } else if (p.seq === this.rcvNxt) {
        const room = this.window();
        const take = Math.min(len, room);
        if (take > 0) this.accept(p.payload.subarray(0, take));
        if (take === len) {
          this.pullOoo();
          if (p.flags & F_FIN) this.gotFin();
        }
        this.sendAck();
      } else {
        // Kept whether or not SACK reports it, as every real receiver does (RFC 9293 3.10.7.4).
        if (lt(this.rcvNxt, p.seq) && len > 0 && diff(add(p.seq, len), this.rcvNxt) <= this.window()) {
          if (!this.ooo.has(p.seq)) this.ooo.set(p.seq, Uint8Array.from(p.payload));
        }
        this.sendAck();
      }
    }
    this.pump();
  }

  private sndNxtMax(): number {
    return add(this.iss, 2 + this.outLen);
  }

  private accept(data: Uint8Array): void {
    const copy = Uint8Array.from(data);
    this.received.push(copy);
    this.receivedBytes += copy.length;
    this.rcvNxt = add(this.rcvNxt, copy.length);
    if (!this.reading) this.unread += copy.length;
  }

  private pullOoo(): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const [s, d] of this.ooo) {
        if (leq(s, this.rcvNxt)) {
          this.ooo.delete(s);
          const skip = diff(this.rcvNxt, s);
          if (skip < d.length) this.accept(d.subarray(skip));
          progress = true;
        }
      }
    }
  }

  private gotFin(): void {
    this.finReceived = true;
    this.rcvNxt = add(this.rcvNxt, 1);
    if (this.state === 'ESTABLISHED') this.state = 'CLOSE_WAIT';
    else if (this.state === 'FIN_WAIT_1') this.state = 'CLOSING';
    else if (this.state === 'FIN_WAIT_2') this.state = 'TIME_WAIT';
  }
}
