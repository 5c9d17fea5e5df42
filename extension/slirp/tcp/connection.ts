import type { Clock } from '../../pipeline/clock';
import type { ProbeHub, SessionInfo } from '../../pipeline/probe';
import { sessionInfo } from '../core';
import type { NatSession } from '../nat';
import { ByteQueue } from './byte-queue';
import { NewReno } from './congestion';
import type { TcpLimits } from './limits';
import { ReassemblyQueue } from './reassembly';
import { RttEstimator } from './rtt';
import { SackScoreboard } from './sack-scoreboard';
import { ACK, buildSegment, FIN, optionsLength, PSH, RST, SYN, type OutgoingOptions, type SegmentFields, type TcpOptions, type TcpSegmentView } from './segment';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt } from './seq';
import { HostPipe } from './host-pipe';
import type { HostStream } from './host-stream';
import { ConnectionTimer } from './timer';

/** State names as `info usernet` prints them. */
export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSED';

/** What a connection needs from the stack that owns it. */
export interface ConnectionOwner {
  readonly clock: Clock;
  readonly limits: TcpLimits;
  readonly probes: ProbeHub;
  readonly paused: boolean;
  /** Sends a segment toward the guest (through the tcp_output probe). */
  emit(conn: TcpConnection, segment: Uint8Array): void;
  /** Zeroed bytes to build a segment in (inside the frame it will leave in). */
  readonly allocateSegment: (length: number) => Uint8Array;
  drop(reason: string): void;
  /** RFC 5961 rate limit shared by the whole stack. */
  challengeAllowed(): boolean;
  stateChanged(conn: TcpConnection): void;
  countersChanged(conn: TcpConnection): void;
  enteredTimeWait(conn: TcpConnection): void;
  released(conn: TcpConnection): void;
}

export interface ConnectionEnds {
  guestAddr: number;
  guestPort: number;
  remoteAddr: number;
  remotePort: number;
  inbound: boolean;
}

/** Smallest window shift that lets the 16-bit field express the whole buffer. */
function windowShiftFor(bytes: number): number {
  let s = 0;
  while (s < 14 && 65535 * 2 ** s < bytes) s++;
  return s;
}

/**
 * One TCP connection between the guest and a host stream: the RFC 793 state
 * machine with RFC 7323 options, SACK (RFC 2018), RFC 6298 retransmission,
 * persist and keepalive. It is also the NAT session the table lists.
 * Congestion control is NewReno's (congestion.ts), the RTO the estimator's
 * (rtt.ts), and every byte to or from the host goes through the HostPipe
 * (host-pipe.ts): nothing here touches a Node stream.
 *
 * Over ~400 lines: input processing, the send loop and the timers share the
 * sequence space of one connection; the next cut is an I/O-free TcpSocket
 * (segments in, segments out) with the session view and counters outside.
 */
export class TcpConnection implements NatSession {
  readonly protocol = 'tcp' as const;
  state: TcpState = 'CLOSED';
  readonly guestAddr: number;
  readonly guestPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly inbound: boolean;
  /** Over IPv6 (tcp6.ts): the addresses as text, guestAddr and remoteAddr being only handles for them. */
  guestAddr6: string | undefined;
  remoteAddr6: string | undefined;
  hostLocalAddr = '';
  hostLocalPort = 0;
  hostPeerAddr = '';
  hostPeerPort = 0;
  readonly createdAt: number;
  lastActivity: number;
  bytesOut = 0;
  packetsOut = 0;
  bytesIn = 0;
  packetsIn = 0;

  // Toward the guest.
  private iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndScale = 0;
  /**
   * Effective send MSS (RFC 9293 3.7.1): min(the guest's MSS option, ours).
   * Like the MSS option itself it excludes TCP options, so a segment's
   * payload is this minus the option bytes it carries (payloadRoom).
   */
  private mss: number;
  /** Sequence number of the first byte in `sendBuffer`. */
  private bufSeq: number;
  private readonly sendBuffer = new ByteQueue();
  /**
   * What every data or ACK segment is built from, reused: a segment is built,
   * checksummed and handed on before the next one starts, and nothing keeps
   * these, so a bulk transfer allocates no objects per segment for them.
   */
  private readonly out: {
    fields: SegmentFields;
    options: OutgoingOptions;
    timestamp: [number, number];
    fillOffset: number;
    fillLength: number;
    fill: (dst: Uint8Array, at: number) => void;
  };
  private finQueued = false;
  private readonly cc: NewReno;
  private rexmitNext = 0;
  private readonly scoreboard = new SackScoreboard();
  private readonly rtt: RttEstimator;
  private rttTiming = false;
  private rttSeq = 0;
  private rttStart = 0;
  private retransmits = 0;
  private persisting = false;

  // From the guest.
  private irs = 0;
  private rcvNxt = 0;
  private rcvScale = 0;
  private rcvAdvEdge = 0;
  private readonly ooo: ReassemblyQueue;
  private ackPending = 0;
  private tsOn = false;
  private wsOn = false;
  private sackOn = false;
  private tsRecent = 0;
  private lastAckSent = 0;
  private guestFinished = false;

  /** The host side: the Node stream, its probes and flow control. */
  private readonly pipe: HostPipe;
  /** SYN-ACK sent (passive open) or SYN sent (active): the handshake is under way with the guest. */
  private synSent = false;
  private keepaliveProbesSent = 0;
  private lastNotified = -Infinity;

  private readonly rexmtTimer: ConnectionTimer;
  private readonly delackTimer: ConnectionTimer;
  private readonly keepaliveTimer: ConnectionTimer;
  /** Connect timeout, then TIME_WAIT. */
  private readonly lifeTimer: ConnectionTimer;
  /** Carries the last counter update of a burst to the table. */
  private readonly notifyTimer: ConnectionTimer;

  constructor(
    readonly id: number,
    ends: ConnectionEnds,
    private readonly owner: ConnectionOwner,
  ) {
    this.guestAddr = ends.guestAddr;
    this.guestPort = ends.guestPort;
    this.remoteAddr = ends.remoteAddr;
    this.remotePort = ends.remotePort;
    this.inbound = ends.inbound;
    const L = owner.limits;
    this.createdAt = this.lastActivity = owner.clock.now();
    this.iss = (Math.random() * 0x100000000) >>> 0;
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.mss = L.mss;
    this.cc = new NewReno(L.initialCwndSegments * L.mss);
    this.rtt = new RttEstimator(L.initialRtoMs, L.minRtoMs, L.maxRtoMs);
    this.ooo = new ReassemblyQueue(L.oooSegments);
    this.rexmtTimer = new ConnectionTimer(owner.clock, () => this.onRexmtTimer());
    this.delackTimer = new ConnectionTimer(owner.clock, () => this.sendAck());
    this.keepaliveTimer = new ConnectionTimer(owner.clock, () => this.onKeepalive());
    this.lifeTimer = new ConnectionTimer(owner.clock, () => this.onLifeTimer());
    this.notifyTimer = new ConnectionTimer(owner.clock, () => this.notifyCounters());
    const fields: SegmentFields = { src: this.remoteAddr, dst: this.guestAddr, srcPort: this.remotePort, dstPort: this.guestPort, seq: 0, ack: 0, flags: 0, window: 0 };
    const out = {
      fields,
      options: {},
      timestamp: [0, 0] as [number, number],
      fillOffset: 0,
      fillLength: 0,
      fill: (dst: Uint8Array, at: number) => this.sendBuffer.copyOut(out.fillOffset, out.fillLength, dst, at),
    };
    this.out = out;
    const conn = this;
    this.pipe = new HostPipe(owner.probes, {
      data: (chunk) => this.queueForGuest(chunk),
      end: () => this.hostEnd(),
      drain: () => this.maybeWindowUpdate(),
      error: () => this.hostError(),
      readingMayChange: () => this.updateReading(),
      get open() {
        return conn.state !== 'CLOSED';
      },
      sessionInfo: () => this.sessionInfo(),
    });
  }

  // ---- NAT session view ----

  get recvQ(): number {
    return this.sendBuffer.length + this.pipe.heldFromHost;
  }

  get sendQ(): number {
    return this.pipe.backlog;
  }

  get fd(): number {
    return this.pipe.fd;
  }

  /** Host reading is on (false while paused by flow control or the VM). */
  get hostReading(): boolean {
    return this.pipe.isReading;
  }

  get halfOpen(): boolean {
    return this.state === 'SYN_RECEIVED' || this.state === 'SYN_SENT';
  }

  close(): void {
    this.abort(true);
  }

  sessionInfo(): SessionInfo {
    return sessionInfo(this);
  }

  /** Read-only: our congestion window, the guest's advertised window and srtt, for the TCP stream graph. */
  tcpSample() {
    return { cwnd: this.cc.cwnd, ssthresh: this.cc.ssthresh, peerWindow: this.sndWnd, srtt: this.rtt.smoothedRtt, inFlight: this.flightSize(), retransmits: this.retransmits };
  }

  // ---- opening ----

  /** Guest SYN: remember its options; the SYN-ACK waits for the host connect. */
  acceptGuestSyn(v: TcpSegmentView, o: TcpOptions): void {
    this.irs = v.seq;
    this.rcvNxt = seqAdd(this.irs, 1);
    this.lastAckSent = this.rcvNxt;
    this.negotiate(o);
    this.sndWnd = v.window;
    this.maxSndWnd = this.sndWnd;
    if (o.hasTimestamp) this.tsRecent = o.tsVal;
    this.setState('SYN_RECEIVED');
    this.lifeTimer.start(this.owner.limits.connectTimeoutMs);
  }

  /** The host connect finished: the stream is ours, answer the guest with SYN-ACK. */
  hostConnected(stream: HostStream): void {
    if (this.state === 'CLOSED') {
      stream.destroy();
      return;
    }
    this.lifeTimer.stop();
    this.attachStream(stream);
    this.synSent = true;
    this.sendSyn();
  }

  /** An accepted hostfwd connection: send our SYN to the guest. */
  openToGuest(stream: HostStream): void {
    this.attachStream(stream);
    this.rcvScale = windowShiftFor(this.owner.limits.recvBufferBytes);
    this.setState('SYN_SENT');
    this.synSent = true;
    this.sendSyn();
  }

  private negotiate(o: TcpOptions): void {
    const L = this.owner.limits;
    this.mss = Math.max(64, Math.min(L.mss, o.mss > 0 ? o.mss : 536));
    // The initial window counts segments of the MSS in use (RFC 6928), not of ours: a guest
    // that kept a 1500 MTU under our jumbo one gets 10 segments of its size, not 60.
    this.cc.setInitialWindow(L.initialCwndSegments * this.mss);
    this.wsOn = o.windowScale >= 0;
    if (this.wsOn) {
      this.sndScale = o.windowScale;
      this.rcvScale = windowShiftFor(L.recvBufferBytes);
    } else {
      this.sndScale = 0;
      this.rcvScale = 0;
    }
    this.tsOn = o.hasTimestamp;
    this.sackOn = o.sackPermitted;
  }

  private attachStream(stream: HostStream): void {
    const ends = this.pipe.attach(stream);
    this.hostLocalAddr = ends.localAddress;
    this.hostLocalPort = ends.localPort;
    this.hostPeerAddr ||= ends.remoteAddress;
    this.hostPeerPort ||= ends.remotePort;
  }

  // ---- from the host ----

  private queueForGuest(chunk: Buffer): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.sendBuffer.push(chunk);
    this.updateReading();
    this.output(false);
    this.notifyCounters();
  }

  private hostEnd(): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.finQueued = true;
    if (this.state === 'ESTABLISHED') this.setState('FIN_WAIT_1');
    else if (this.state === 'CLOSE_WAIT') this.setState('LAST_ACK');
    this.updateReading();
    this.output(false);
  }

  private hostError(): void {
    // ECONNRESET, EPIPE and the like: the guest learns it as RST.
    if (this.state !== 'CLOSED') this.abort(true);
  }

  /** Reads from the host only while there is room toward the guest and the guest's window is open. */
  updateReading(): void {
    this.pipe.setReading(
      !this.owner.paused &&
        this.pipe.canRead &&
        (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT') &&
        this.sendBuffer.length < this.owner.limits.sendBufferBytes &&
        !(this.sndWnd === 0 && this.sendBuffer.length > 0),
    );
  }

  // ---- toward the host ----

  private toHost(data: Uint8Array): void {
    this.pipe.write(data);
  }

  /** Bytes from the guest not yet taken by the host: what shrinks our window. */
  private hostBacklog(): number {
    return this.sendQ;
  }

  private receiveWindow(): number {
    let free = this.owner.limits.recvBufferBytes - this.hostBacklog();
    if (free < this.mss) free = 0; // no silly windows (RFC 1122 4.2.3.3)
    const promised = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    return Math.max(free, promised, 0);
  }

  private maybeWindowUpdate(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT' || this.guestFinished) return;
    const advertised = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
    const now = this.receiveWindow();
    if (now - advertised >= 2 * this.mss || (advertised < this.mss && now >= this.mss)) this.sendAck();
  }

  // ---- input ----

  input(v: TcpSegmentView, o: TcpOptions): void {
    const now = this.owner.clock.now();
    this.lastActivity = now;
    this.packetsOut++;
    const len = v.payloadLength;
    this.bytesOut += len;
    const flags = v.flags;
    const seq = v.seq;

    if (this.state === 'SYN_SENT') return this.inputSynSent(v, o);
    if (this.state === 'SYN_RECEIVED' && !this.synSent) {
      // Still connecting on the host side.
      if (flags & RST && seq === this.rcvNxt) this.abort(false);
      else if (!(flags & SYN && seq === this.irs)) this.owner.drop('segment-while-connecting');
      return;
    }
    if (this.state === 'SYN_RECEIVED' && flags & SYN && !(flags & ACK) && seq === this.irs) {
      this.sendSyn(); // the guest did not get our SYN-ACK
      return;
    }
    if (this.keepaliveProbesSent || this.owner.limits.keepaliveIdleMs > 0) {
      this.keepaliveProbesSent = 0;
      if (this.state !== 'TIME_WAIT') this.keepaliveTimer.start(this.owner.limits.keepaliveIdleMs);
    }

    // 1. Sequence acceptability (RFC 793 p. 69).
    const segLen = len + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    const wnd = Math.max(seqDiff(this.rcvAdvEdge, this.rcvNxt), 0);
    let acceptable: boolean;
    if (segLen === 0) acceptable = wnd === 0 ? seq === this.rcvNxt : seqGeq(seq, this.rcvNxt) && seqLt(seq, seqAdd(this.rcvNxt, wnd)) || seq === this.rcvNxt;
    else
      acceptable =
        (wnd > 0 && ((seqGeq(seq, this.rcvNxt) && seqLt(seq, seqAdd(this.rcvNxt, wnd))) ||
          (seqGeq(seqAdd(seq, segLen - 1), this.rcvNxt) && seqLt(seqAdd(seq, segLen - 1), seqAdd(this.rcvNxt, wnd))))) ||
        (seq === this.rcvNxt && segLen > 0 && wnd === 0);
    if (!acceptable) {
      if (flags & RST) {
        this.owner.drop('rst-out-of-window');
        return;
      }
      if (this.state === 'TIME_WAIT' && flags & SYN) {
        this.owner.drop('syn-in-time-wait');
        return;
      }
      // A retransmission of data we had, or a probe of a closed window: our ACK answers it.
      this.owner.drop(seqLt(seq, this.rcvNxt) ? 'duplicate' : 'out-of-window');
      this.sendAck();
      return;
    }

    // 2. RST (RFC 5961 section 3).
    if (flags & RST) {
      if (seq === this.rcvNxt) {
        this.abort(false);
      } else {
        this.owner.drop('rst-challenged');
        this.challengeAck();
      }
      return;
    }

    // 3. SYN in a synchronized state (RFC 5961 section 4).
    if (flags & SYN) {
      this.owner.drop('syn-in-window');
      this.challengeAck();
      return;
    }

    if (!(flags & ACK)) {
      this.owner.drop('no-ack');
      return;
    }

    if (this.tsOn && o.hasTimestamp && seqLeq(seq, this.lastAckSent)) this.tsRecent = o.tsVal;

    // 4. ACK.
    if (this.state === 'SYN_RECEIVED') {
      if (seqGt(v.ack, this.sndUna) && seqLeq(v.ack, this.sndMax)) {
        this.sndWnd = v.window << this.sndScale;
        this.sndWl1 = seq;
        this.sndWl2 = v.ack;
        this.established();
      } else {
        this.owner.drop('bad-ack');
        this.sendReset(v.ack);
        return;
      }
    }
    if (!this.processAck(v, o, false)) return;
    if (this.state === ('CLOSED' as TcpState)) return;

    // 5. Data and FIN.
    let ackNow = false;
    if (segLen > 0) {
      if (this.guestFinished) {
        // Data or FIN after the guest's FIN: only a retransmitted FIN is expected; re-ACK it.
        ackNow = true;
        if (this.state === 'TIME_WAIT') this.lifeTimer.start(this.owner.limits.timeWaitMs);
      } else {
        ackNow = this.receive(v);
      }
    }
    this.output(ackNow);
    this.notifyCounters();
  }

  private inputSynSent(v: TcpSegmentView, o: TcpOptions): void {
    const flags = v.flags;
    if (flags & ACK && v.ack !== seqAdd(this.iss, 1)) {
      this.owner.drop('bad-ack');
      if (!(flags & RST)) this.sendReset(v.ack);
      return;
    }
    if (flags & RST) {
      if (flags & ACK) this.abort(false); // nothing listens in the guest
      else this.owner.drop('rst-out-of-window');
      return;
    }
    if (!(flags & SYN) || !(flags & ACK)) {
      this.owner.drop(flags & SYN ? 'simultaneous-open' : 'no-syn');
      return;
    }
    this.irs = v.seq;
    this.rcvNxt = seqAdd(v.seq, 1);
    this.lastAckSent = this.rcvNxt;
    this.negotiate(o);
    if (o.hasTimestamp) {
      this.tsRecent = o.tsVal;
      if (o.tsEcr) this.rtt.sample((this.tsNow() - o.tsEcr) | 0);
    }
    this.sndUna = v.ack;
    this.sndWnd = v.window; // never scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = v.seq;
    this.sndWl2 = v.ack;
    this.rexmtTimer.stop();
    this.established();
    this.output(true);
  }

  private established(): void {
    this.retransmits = 0;
    this.rtt.backoff = 0;
    this.cc.setInitialWindow(this.owner.limits.initialCwndSegments * this.mss, true);
    this.setState(this.finQueued ? 'FIN_WAIT_1' : 'ESTABLISHED');
    if (this.owner.limits.keepaliveIdleMs > 0) this.keepaliveTimer.start(this.owner.limits.keepaliveIdleMs);
    this.updateReading();
  }

  /** Returns false when the segment must go no further. */
  private processAck(v: TcpSegmentView, o: TcpOptions, windowOnly: boolean): boolean {
    const ack = v.ack;
    if (this.persisting && ack === seqAdd(this.sndMax, 1) && this.sendBuffer.length > seqDiff(this.sndMax, this.bufSeq)) {
      // The guest took the zero-window probe byte.
      this.sndMax = this.sndNxt = ack;
    }
    if (seqGt(ack, this.sndMax)) {
      this.owner.drop('ack-unsent');
      this.sendAck();
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 65535)))) {
      this.owner.drop('ack-too-old');
      this.challengeAck();
      return false;
    }
    if (this.sackOn && o.sackCount) {
      for (let i = 0; i < o.sackCount; i++) this.scoreboard.add(o.sack[2 * i], o.sack[2 * i + 1], this.sndUna, this.sndMax);
    }
    const window = v.window << this.sndScale;
    const oldWnd = this.sndWnd;
    if (seqLt(this.sndWl1, v.seq) || (this.sndWl1 === v.seq && seqLeq(this.sndWl2, ack))) {
      this.sndWnd = window;
      this.sndWl1 = v.seq;
      this.sndWl2 = ack;
      if (window > this.maxSndWnd) this.maxSndWnd = window;
    }
    if (windowOnly) return true;

    if (seqGt(ack, this.sndUna)) {
      this.newlyAcked(ack, o);
    } else if (
      ack === this.sndUna &&
      v.payloadLength === 0 &&
      !(v.flags & (SYN | FIN)) &&
      window === oldWnd &&
      this.sndMax !== this.sndUna
    ) {
      this.duplicateAck();
    }
    if (this.sndWnd > 0 && this.persisting) {
      this.persisting = false;
      this.rexmtTimer.stop();
      this.rtt.backoff = 0;
    }
    this.updateReading();
    return true;
  }

  private newlyAcked(ack: number, o: TcpOptions): void {
    const acked = seqDiff(ack, this.sndUna);
    const dataAcked = Math.min(this.sendBuffer.length, Math.max(0, seqDiff(ack, this.bufSeq)));
    if (dataAcked > 0) {
      this.sendBuffer.drop(dataAcked);
      this.bufSeq = seqAdd(this.bufSeq, dataAcked);
    }
    if (this.tsOn && o.hasTimestamp && o.tsEcr) this.rtt.sample((this.tsNow() - o.tsEcr) | 0);
    else if (this.rttTiming && seqGt(ack, this.rttSeq)) this.rtt.sample(this.owner.clock.now() - this.rttStart);
    if (this.rttTiming && seqGt(ack, this.rttSeq)) this.rttTiming = false;
    this.rtt.backoff = 0;
    this.retransmits = 0;

    if (this.cc.onAck(ack, acked, this.flightSize(), this.mss)) {
      // NewReno partial ACK: the next hole is lost too.
      this.sndUna = ack;
      this.retransmitAt(ack);
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.rexmitNext, ack)) this.rexmitNext = ack;
    this.scoreboard.advance(ack);

    if (this.sndUna === this.sndMax) this.rexmtTimer.stop();
    else this.rexmtTimer.start(this.rtt.rto);

    if (this.finQueued && ack === seqAdd(this.finSeq(), 1)) this.ourFinAcked();
  }

  private ourFinAcked(): void {
    switch (this.state) {
      case 'FIN_WAIT_1':
        this.setState('FIN_WAIT_2');
        break;
      case 'CLOSING':
        this.enterTimeWait();
        break;
      case 'LAST_ACK':
        this.release();
        break;
      default:
        break;
    }
  }

  private duplicateAck(): void {
    const dupAcks = this.cc.onDuplicateAck(this.mss);
    if (this.cc.inRecovery) {
      if (this.sackOn) this.retransmitNextHole();
      return;
    }
    if (dupAcks === 3 || (this.sackOn && dupAcks < 3 && this.scoreboard.sackedAbove(seqAdd(this.sndUna, 3 * this.mss)))) {
      this.cc.enterRecovery(this.flightSize(), this.sndMax, this.mss);
      this.rttTiming = false;
      this.rexmitNext = this.sndUna;
      this.retransmitAt(this.sndUna);
    }
  }

  private retransmitNextHole(): void {
    let s = this.rexmitNext;
    const highest = this.scoreboard.highest(this.sndUna);
    for (let guard = 0; guard < 64 && seqLt(s, highest); guard++) {
      const end = this.scoreboard.sackedUntil(s);
      if (end === -1) {
        this.retransmitAt(s);
        return;
      }
      s = end;
    }
  }

  private flightSize(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  private finSeq(): number {
    return seqAdd(this.bufSeq, this.sendBuffer.length);
  }

  /** Guest data: deliver what is in order, keep what is ahead. True when the ACK must go now. */
  private receive(v: TcpSegmentView): boolean {
    if (this.state !== 'ESTABLISHED' && this.state !== 'FIN_WAIT_1' && this.state !== 'FIN_WAIT_2') return true;
    let seq = v.seq;
    let data = v.payload(); // urgent data is ordinary inline data here; the pointer is ignored
    let fin = (v.flags & FIN) !== 0;
    if (seqLt(seq, this.rcvNxt)) {
      const cut = seqDiff(this.rcvNxt, seq);
      if (cut >= data.length) {
        // Only old bytes, maybe with a FIN at the end.
        if (!(fin && cut === data.length)) return true;
        data = data.subarray(data.length);
      } else data = data.subarray(cut);
      seq = this.rcvNxt;
    }
    const wnd = Math.max(seqDiff(this.rcvAdvEdge, this.rcvNxt), 0);
    const room = wnd - seqDiff(seq, this.rcvNxt);
    let trimmed = false;
    if (data.length > room) {
      // Past our window (or a probe of a closed one): keep what fits and answer at once.
      this.owner.drop('beyond-window');
      data = data.subarray(0, Math.max(0, room));
      fin = false;
      trimmed = true;
    }
    if (data.length === 0 && !fin) return true;
    if (seq !== this.rcvNxt) {
      if (!this.ooo.insert(seq, data, fin)) this.owner.drop(this.ooo.size >= this.owner.limits.oooSegments ? 'ooo-full' : 'duplicate');
      return true;
    }
    const filledHole = this.ooo.size > 0;
    if (data.length) {
      this.toHost(data);
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    }
    let finNow = fin;
    if (fin) this.rcvNxt = seqAdd(this.rcvNxt, 1);
    else if (filledHole) this.rcvNxt = this.ooo.pull(this.rcvNxt, (d) => this.toHost(d), () => (finNow = true));
    if (fin) this.ooo.clear();
    if (finNow) {
      const closing = this.state === 'ESTABLISHED';
      this.guestFin();
      if (!closing) return true;
      // The host usually answers the shutdown with its own end within a few ms: the ACK of the
      // guest's FIN then rides on our FIN (one segment, one guest interrupt, not two). Otherwise
      // the delayed-ACK timer sends it, as for data.
      this.ackPending++;
      return this.ackPending >= 2;
    }
    this.ackPending++;
    return filledHole || trimmed || this.ackPending >= 2;
  }

  private guestFin(): void {
    this.guestFinished = true;
    this.pipe.end();
    switch (this.state) {
      case 'ESTABLISHED':
        this.setState('CLOSE_WAIT');
        break;
      case 'FIN_WAIT_1':
        if (this.finQueued && this.sndUna === seqAdd(this.finSeq(), 1)) this.enterTimeWait();
        else this.setState('CLOSING');
        break;
      case 'FIN_WAIT_2':
        this.enterTimeWait();
        break;
      default:
        break;
    }
  }

  // ---- output ----

  /** tcp_output: send what the windows allow, then an ACK if one is owed. */
  output(ackNow: boolean): void {
    if (this.state === 'CLOSED' || this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') {
      if (ackNow && this.state === 'SYN_SENT') this.sendAck();
      return;
    }
    let sent = false;
    if (this.state !== 'TIME_WAIT') {
      // The options cannot change inside this loop (no guest input runs), so neither can the room.
      const room = this.payloadRoom();
      for (let guard = 0; guard < 4096; guard++) {
        if (seqLt(this.sndNxt, this.sndMax) && this.sackOn) {
          const end = this.scoreboard.sackedUntil(this.sndNxt);
          if (end !== -1) {
            this.sndNxt = end;
            continue;
          }
        }
        const off = seqDiff(this.sndNxt, this.bufSeq);
        const avail = this.sendBuffer.length - off;
        const usable = seqDiff(seqAdd(this.sndUna, Math.min(this.sndWnd, this.cc.cwnd)), this.sndNxt);
        let len = Math.max(0, Math.min(avail, room, usable));
        if (len > 0 && this.sackOn && seqLt(this.sndNxt, this.sndMax)) {
          const nextSacked = this.scoreboard.nextSackedAfter(this.sndNxt);
          if (nextSacked !== -1) len = Math.min(len, seqDiff(nextSacked, this.sndNxt));
        }
        const reachesEnd = off + len === this.sendBuffer.length;
        const finDue = this.finQueued && reachesEnd && seqLeq(seqAdd(this.sndNxt, len), this.finSeq());
        if (len > 0 && (len === room || reachesEnd || this.sndNxt === this.sndUna)) {
          this.transmit(this.sndNxt, len, finDue);
          this.sndNxt = seqAdd(this.sndNxt, len + (finDue ? 1 : 0));
          if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
          sent = true;
          continue;
        }
        if (len === 0 && avail === 0 && finDue) {
          this.transmit(this.sndNxt, 0, true);
          this.sndNxt = seqAdd(this.sndNxt, 1);
          if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
          sent = true;
        }
        break;
      }
    }
    if (!sent && (ackNow || this.ackPending > 0)) {
      if (ackNow || this.ackPending >= 2) this.sendAck();
      else this.delackTimer.ensure(this.owner.limits.delayedAckMs);
    }
    this.armSendTimers();
  }

  private armSendTimers(): void {
    if (this.sndMax !== this.sndUna) {
      if (!this.persisting) this.rexmtTimer.ensure(this.rtt.rto);
      return;
    }
    const unsent = this.sendBuffer.length - seqDiff(this.sndNxt, this.bufSeq);
    if (unsent > 0 && this.sndWnd === 0 && !this.persisting) {
      this.persisting = true;
      this.rexmtTimer.start(this.rtt.rto);
    }
  }

  private transmit(seq: number, len: number, fin: boolean): void {
    if (len > 0 && !this.rttTiming && seq === this.sndMax && !this.tsOn && !this.persisting) {
      this.rttTiming = true;
      this.rttSeq = seq;
      this.rttStart = this.owner.clock.now();
    }
    const off = seqDiff(seq, this.bufSeq);
    let flags = ACK | (fin ? FIN : 0);
    if (len > 0 && off + len === this.sendBuffer.length) flags |= PSH;
    this.emit(seq, flags, len, off);
    this.bytesIn += len;
  }

  /** One segment from `seq`, for fast retransmit and partial ACKs; sndNxt stays. */
  private retransmitAt(seq: number): void {
    const off = seqDiff(seq, this.bufSeq);
    if (off < 0) return;
    let len = Math.max(0, Math.min(this.payloadRoom(), this.sendBuffer.length - off, seqDiff(this.sndMax, seq)));
    const nextSacked = this.sackOn ? this.scoreboard.nextSackedAfter(seq) : -1;
    if (nextSacked !== -1) len = Math.min(len, seqDiff(nextSacked, seq));
    const fin = this.finQueued && off + len === this.sendBuffer.length && seqGt(this.sndMax, this.finSeq());
    if (len === 0 && !fin) return;
    this.rexmitNext = seqAdd(seq, len + (fin ? 1 : 0));
    this.transmit(seq, len, fin);
    this.rexmtTimer.start(this.rtt.rto);
  }

  private sendSyn(): void {
    const L = this.owner.limits;
    const active = this.state === 'SYN_SENT';
    const opts: OutgoingOptions = {
      mss: L.mss,
      windowScale: active || this.wsOn ? this.rcvScale : undefined,
      sackPermitted: active || this.sackOn,
      timestamp: active || this.tsOn ? [this.tsNow(), active ? 0 : this.tsRecent] : undefined,
    };
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    const window = Math.min(this.receiveWindow() || this.owner.limits.recvBufferBytes, 65535);
    this.rcvAdvEdge = seqAdd(this.rcvNxt, window);
    const seg = buildSegment({
      src: this.remoteAddr,
      dst: this.guestAddr,
      srcPort: this.remotePort,
      dstPort: this.guestPort,
      seq: this.iss,
      ack: active ? 0 : this.rcvNxt,
      flags: active ? SYN : SYN | ACK,
      window,
      options: opts,
    });
    this.packetsIn++;
    this.owner.emit(this, seg);
    this.rexmtTimer.start(this.rtt.rto);
  }

  sendAck(): void {
    if (this.state === 'CLOSED') return;
    this.emit(this.sndNxt, ACK, 0, 0);
  }

  private challengeAck(): void {
    if (this.owner.challengeAllowed()) this.sendAck();
  }

  private sendReset(seq: number): void {
    const seg = buildSegment({
      src: this.remoteAddr,
      dst: this.guestAddr,
      srcPort: this.remotePort,
      dstPort: this.guestPort,
      seq,
      ack: 0,
      flags: RST,
      window: 0,
    });
    this.owner.emit(this, seg);
  }

  private tsNow(): number {
    return Math.floor(this.owner.clock.now()) >>> 0;
  }

  /**
   * The options of a non-SYN segment sent now: timestamps on every one when
   * negotiated (RFC 7323 3.2), SACK blocks only while guest data waits out of
   * order (RFC 2018 4). At most 40 bytes: three blocks fit beside timestamps.
   */
  private segmentOptions(): OutgoingOptions | undefined {
    if (!this.tsOn && !(this.sackOn && this.ooo.size)) return undefined;
    const options = this.out.options;
    if (this.tsOn) {
      this.out.timestamp[0] = this.tsNow();
      this.out.timestamp[1] = this.tsRecent;
      options.timestamp = this.out.timestamp;
    } else options.timestamp = undefined;
    options.sackBlocks = this.sackOn && this.ooo.size ? this.ooo.sackBlocks(this.tsOn ? 3 : 4) : undefined;
    return options;
  }

  /**
   * Payload bytes a segment sent now may carry: the effective MSS less the
   * option bytes it will carry (RFC 6691), so header and data stay within the
   * MTU the MSS was derived from and the datagram is never fragmented.
   */
  private payloadRoom(): number {
    return Math.max(1, this.mss - optionsLength(this.segmentOptions()));
  }

  /** Builds and sends one segment carrying the current ACK, window and options. */
  private emit(seq: number, flags: number, len: number, bufOffset: number): void {
    const options = this.segmentOptions();
    const window = this.receiveWindow();
    const field = Math.min(window >>> this.rcvScale, 65535);
    const edge = seqAdd(this.rcvNxt, field << this.rcvScale);
    if (seqGt(edge, this.rcvAdvEdge)) this.rcvAdvEdge = edge;
    const out = this.out;
    const f = out.fields;
    f.seq = seq;
    f.ack = this.rcvNxt;
    f.flags = flags;
    f.window = field;
    f.options = options;
    out.fillOffset = bufOffset;
    out.fillLength = len;
    const seg = buildSegment(f, len, len ? out.fill : undefined, this.owner.allocateSegment);
    if (flags & ACK) {
      this.lastAckSent = this.rcvNxt;
      this.ackPending = 0;
      this.delackTimer.stop();
    }
    this.packetsIn++;
    this.owner.emit(this, seg);
  }

  // ---- timers ----

  private onRexmtTimer(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    const L = this.owner.limits;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') {
      if (++this.retransmits > L.maxSynRetransmits) return this.abort(true);
      this.rtt.backoff++;
      this.sendSyn();
      return;
    }
    if (this.persisting) {
      // Zero-window probe: one byte past the closed window; an ACK that takes it moves sndUna on.
      const off = seqDiff(this.sndUna, this.bufSeq);
      if (this.sndWnd === 0 && this.sendBuffer.length - off > 0) {
        this.transmit(this.sndUna, 1, false);
        this.rtt.backoff++;
        this.rexmtTimer.start(this.rtt.rto);
      } else {
        this.persisting = false;
        this.output(false);
      }
      return;
    }
    if (this.sndMax === this.sndUna) return;
    if (++this.retransmits > L.maxRetransmits) return this.abort(true);
    this.cc.onTimeout(this.flightSize(), this.mss);
    this.rtt.backoff++;
    this.rttTiming = false;
    this.scoreboard.clear();
    this.sndNxt = this.sndUna;
    this.rexmtTimer.start(this.rtt.rto);
    if (this.sndWnd === 0) {
      // The guest shrank its window under data in flight: probe like persist does.
      this.transmit(this.sndUna, Math.min(1, this.sendBuffer.length - seqDiff(this.sndUna, this.bufSeq)), false);
      return;
    }
    this.output(false);
  }

  private onKeepalive(): void {
    if (this.state !== 'ESTABLISHED' && this.state !== 'CLOSE_WAIT' && this.state !== 'FIN_WAIT_2') return;
    const L = this.owner.limits;
    if (this.keepaliveProbesSent >= L.keepaliveProbes) return this.abort(true);
    this.keepaliveProbesSent++;
    // seq one below sndUna: the guest must answer with an ACK.
    this.emit(seqAdd(this.sndUna, -1), ACK, 0, 0);
    this.keepaliveTimer.start(L.keepaliveIntervalMs);
  }

  private onLifeTimer(): void {
    if (this.state === 'TIME_WAIT') this.release();
    else if (this.state === 'SYN_RECEIVED' && !this.synSent) this.abort(true);
  }

  private enterTimeWait(): void {
    this.setState('TIME_WAIT');
    this.rexmtTimer.stop();
    this.keepaliveTimer.stop();
    this.lifeTimer.start(this.owner.limits.timeWaitMs);
    this.owner.enteredTimeWait(this);
  }

  // ---- teardown ----

  /** A failed host connect: RST (or nothing, when the caller answers with ICMP). */
  connectFailed(sendRst: boolean): void {
    if (sendRst) this.resetGuest();
    this.release();
  }

  /** The slirp closes (the VM or QEMU went away): the host peer sees FIN, as under libslirp, not RST. */
  shutdown(): void {
    if (this.state === 'CLOSED') return;
    this.pipe.finish();
    this.release();
  }

  /** Resets both sides; `notifyGuest` sends RST to the guest. */
  abort(notifyGuest: boolean): void {
    if (this.state === 'CLOSED') return;
    if (notifyGuest && this.state !== 'TIME_WAIT') this.resetGuest();
    this.pipe.abort();
    this.release();
  }

  private resetGuest(): void {
    if (this.state === 'SYN_RECEIVED' && !this.synSent) {
      const seg = buildSegment({
        src: this.remoteAddr,
        dst: this.guestAddr,
        srcPort: this.remotePort,
        dstPort: this.guestPort,
        seq: 0,
        ack: this.rcvNxt,
        flags: RST | ACK,
        window: 0,
      });
      this.owner.emit(this, seg);
      return;
    }
    this.sendReset(this.sndNxt);
  }

  /** Forgets the connection (timers, buffers, host stream) and tells the stack. */
  release(): void {
    if (this.state === 'CLOSED') return;
    this.setState('CLOSED');
    this.rexmtTimer.stop();
    this.delackTimer.stop();
    this.keepaliveTimer.stop();
    this.lifeTimer.stop();
    this.notifyTimer.stop();
    this.sendBuffer.clear();
    this.ooo.clear();
    // A normal ending has both halves closed: the stream finishes writing and closes by itself.
    this.pipe.release();
    this.owner.released(this);
  }

  private setState(s: TcpState): void {
    if (this.state === s) return;
    this.state = s;
    this.owner.stateChanged(this);
    if (s !== 'CLOSED') this.updateReading();
  }

  /** Counter updates reach the table at most every half second, the last of a burst included. */
  notifyCounters(): void {
    if (this.state === 'CLOSED') return;
    const now = this.owner.clock.now();
    const since = now - this.lastNotified;
    if (since < 500) {
      this.notifyTimer.ensure(500 - since);
      return;
    }
    this.lastNotified = now;
    this.owner.countersChanged(this);
  }
}
