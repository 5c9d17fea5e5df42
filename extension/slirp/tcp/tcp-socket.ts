/**
 * An I/O-free TCP endpoint (smoltcp's socket/tcp.rs, libslirp's tcpcb): it
 * consumes segments from its peer (the guest) and produces segments for it,
 * and meets the byte stream only through its owner's events (bytes received,
 * the peer's FIN, closed) and calls (send bytes, close, abort). No Node stream,
 * NAT view or probe here: the owner (connection.ts) adds those.
 *
 * The work is split as libslirp splits it: segment arrival in tcp-input.ts,
 * what to send and how in tcp-output.ts, the timers' expiries in tcp-timer.ts;
 * congestion control in congestion.ts, the RTO estimator in rtt.ts. Those
 * files work on this object's fields, which are therefore not private: code
 * outside tcp/ uses only the members documented as its surface.
 */
import type { Clock } from '../../pipeline/clock';
import { ByteQueue } from './byte-queue';
import { NewReno } from './congestion';
import type { TcpLimits } from './limits';
import { ReassemblyQueue } from './reassembly';
import { RttEstimator } from './rtt';
import { SackScoreboard } from './sack-scoreboard';
import { type OutgoingOptions, type PayloadSource, type SegmentFields, type TcpOptions, type TcpSegmentView } from './segment';
import { seqAdd, seqDiff } from './seq';
import { tcpInput } from './tcp-input';
import { maybeWindowUpdate, resetPeer, sendAck, sendSyn, tcpOutput } from './tcp-output';
import { onKeepalive, onLifeTimer, onRexmtTimer } from './tcp-timer';
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

/** What a socket needs from its owner: time, limits, a way to the peer, and the byte-stream events. */
export interface TcpSocketOwner {
  readonly clock: Clock;
  readonly limits: TcpLimits;
  /** Bytes a frame keeps before the TCP header (the lower layers' headers go there). */
  readonly headroom: number;
  /** A zeroed frame: `headroom` bytes, then `length` bytes for one segment. Called unbound (a function, not a method). */
  readonly allocateFrame: (length: number) => Uint8Array;
  /** A frame from allocateFrame holding a segment for the peer from `headroom` on, checksummed. */
  output(frame: Uint8Array): void;
  /** A segment (or part of one) was discarded, for this reason. */
  drop(reason: string): void;
  /** RFC 5961 rate limit, shared by every socket of a stack. */
  challengeAllowed(): boolean;
  /**
   * Bytes the peer sent, `bytes[start, end)`, in order; the socket keeps no reference
   * to them. A range, not a view: a view per segment would be ~90 bytes of heap.
   */
  received(bytes: Uint8Array, start: number, end: number): void;
  /** The peer sent its FIN: no more bytes will come. */
  peerFinished(): void;
  /** Bytes received but not yet taken by the consumer: what shrinks the advertised window. */
  readonly backlog: number;
  stateChanged(): void;
  /** Whether the owner should produce more bytes may have changed (see TcpSocket.wantsData). */
  sendSpaceChanged(): void;
  enteredTimeWait(): void;
  /** The socket was reset (by the peer, a timeout or abort()): the consumer's side is reset too. */
  aborted(): void;
  /** The socket is CLOSED and forgotten: timers stopped, buffers dropped. */
  released(): void;
}

/** The addresses a socket writes into its segments: local is ours, peer the guest's. */
export interface TcpEndpoints {
  localAddr: number;
  localPort: number;
  peerAddr: number;
  peerPort: number;
}

/** Counters a test (or a curious user) reads; they only ever grow. */
export class TcpSocketStats {
  segmentsReceived = 0;
  bytesReceived = 0;
  segmentsSent = 0;
  bytesSent = 0;
  /** Data segments sent again (timeouts, fast retransmit, partial ACKs, SACK holes). */
  retransmitted = 0;
  /** Retransmission timeouts that found data outstanding. */
  timeouts = 0;
  /** Fast recoveries entered (three duplicate ACKs, or SACK saying as much). */
  fastRecoveries = 0;
}

/** Smallest window shift that lets the 16-bit field express the whole buffer. */
export function windowShiftFor(bytes: number): number {
  let s = 0;
  while (s < 14 && 65535 * 2 ** s < bytes) s++;
  return s;
}

/**
 * One TCP connection's protocol: the RFC 9293 state machine with RFC 7323
 * options, SACK (RFC 2018), RFC 6298 retransmission, persist and keepalive.
 */
export class TcpSocket {
  // ---- surface ----
  state: TcpState = 'CLOSED';
  readonly stats = new TcpSocketStats();
  lastActivity: number;

  // ---- toward the peer ----
  iss: number;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd = 0;
  maxSndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  sndScale = 0;
  /**
   * Effective send MSS (RFC 9293 3.7.1): min(the peer's MSS option, ours).
   * Like the MSS option itself it excludes TCP options, so a segment's
   * payload is this minus the option bytes it carries (payloadRoom).
   */
  mss: number;
  /** Sequence number of the first byte in `sendBuffer`. */
  bufSeq: number;
  readonly sendBuffer = new ByteQueue();
  /**
   * What every data or ACK segment is built from, reused: a segment is built,
   * checksummed and handed on before the next one starts, and nothing keeps
   * these, so a bulk transfer allocates no objects per segment for them.
   */
  readonly out: SegmentScratch;
  finQueued = false;
  /** More bytes are on their way (cork()): only full segments go until uncork(). */
  corked = false;
  readonly cc: NewReno;
  rexmitNext = 0;
  readonly scoreboard = new SackScoreboard();
  readonly rtt: RttEstimator;
  rttTiming = false;
  rttSeq = 0;
  rttStart = 0;
  retransmits = 0;
  persisting = false;

  // ---- from the peer ----
  irs = 0;
  rcvNxt = 0;
  rcvScale = 0;
  rcvAdvEdge = 0;
  readonly ooo: ReassemblyQueue;
  ackPending = 0;
  tsOn = false;
  wsOn = false;
  sackOn = false;
  tsRecent = 0;
  lastAckSent = 0;
  peerFinishedSending = false;
  /** SYN-ACK sent (passive open) or SYN sent (active): the handshake is under way. */
  synSent = false;
  keepaliveProbesSent = 0;

  readonly rexmtTimer: ConnectionTimer;
  readonly delackTimer: ConnectionTimer;
  readonly keepaliveTimer: ConnectionTimer;
  /** Connect timeout, then TIME_WAIT. */
  readonly lifeTimer: ConnectionTimer;

  constructor(
    readonly ends: TcpEndpoints,
    readonly owner: TcpSocketOwner,
  ) {
    const L = owner.limits;
    this.lastActivity = owner.clock.now();
    this.iss = (Math.random() * 0x100000000) >>> 0;
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.mss = L.mss;
    this.cc = new NewReno(L.initialCwndSegments * L.mss);
    this.rtt = new RttEstimator(L.initialRtoMs, L.minRtoMs, L.maxRtoMs);
    this.ooo = new ReassemblyQueue(L.oooSegments);
    this.rexmtTimer = new ConnectionTimer(owner.clock, () => onRexmtTimer(this), true);
    this.delackTimer = new ConnectionTimer(owner.clock, () => sendAck(this), true);
    this.keepaliveTimer = new ConnectionTimer(owner.clock, () => onKeepalive(this));
    this.lifeTimer = new ConnectionTimer(owner.clock, () => onLifeTimer(this));
    const fields: SegmentFields = { src: ends.localAddr, dst: ends.peerAddr, srcPort: ends.localPort, dstPort: ends.peerPort, seq: 0, ack: 0, flags: 0, window: 0 };
    this.out = new SegmentScratch(fields, this.sendBuffer);
  }

  // ---- opening ----

  /** Passive open on the peer's SYN: its options are remembered; the SYN-ACK waits for accept(). */
  listen(v: TcpSegmentView, o: TcpOptions): void {
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

  /** The consumer is ready (the host connect finished): answer the peer's SYN with SYN-ACK. */
  accept(): void {
    this.lifeTimer.stop();
    this.synSent = true;
    sendSyn(this);
  }

  /** Active open: send our SYN to the peer. */
  connect(): void {
    this.rcvScale = windowShiftFor(this.owner.limits.recvBufferBytes);
    this.setState('SYN_SENT');
    this.synSent = true;
    sendSyn(this);
  }

  negotiate(o: TcpOptions): void {
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

  established(): void {
    // The handshake's retransmission is over: its clock timer goes now, not at the RTO it was armed
    // for (a lazy stop would keep one per connection opened in the last second, ~550 bytes each at 1000).
    this.rexmtTimer.cancel();
    this.retransmits = 0;
    this.rtt.backoff = 0;
    this.cc.setInitialWindow(this.owner.limits.initialCwndSegments * this.mss, true);
    this.setState(this.finQueued ? 'FIN_WAIT_1' : 'ESTABLISHED');
    if (this.owner.limits.keepaliveIdleMs > 0) this.keepaliveTimer.start(this.owner.limits.keepaliveIdleMs);
    this.owner.sendSpaceChanged();
  }

  /** Bytes sent and not yet acknowledged. */
  get flightSize(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  /** The sequence number our FIN takes (or will take): just past the last queued byte. */
  get finSeq(): number {
    return seqAdd(this.bufSeq, this.sendBuffer.length);
  }

  get halfOpen(): boolean {
    return this.state === 'SYN_RECEIVED' || this.state === 'SYN_SENT';
  }

  // ---- the byte stream ----

  /** A segment from the peer. */
  input(v: TcpSegmentView, o: TcpOptions): void {
    tcpInput(this, v, o);
  }

  /** Bytes for the peer: queued, sent as the windows allow. The chunk is kept, not copied. */
  send(chunk: Uint8Array): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.sendBuffer.push(chunk);
    this.owner.sendSpaceChanged();
    tcpOutput(this, false);
  }

  /**
   * More bytes follow at once (the host read more than one chunk this turn):
   * only full segments go, so a chunk's tail waits to fill a segment with the
   * next chunk's head instead of leaving as a short one. uncork() sends it.
   */
  cork(): void {
    this.corked = true;
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    tcpOutput(this, false);
  }

  /** Bytes queued toward the peer and not yet acknowledged by it. */
  get sendQueued(): number {
    return this.sendBuffer.length;
  }

  /** Whether more bytes for the peer are welcome: the send buffer has room and the peer's window is not closed on what waits. */
  get wantsData(): boolean {
    return (
      (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT') &&
      this.sendBuffer.length < this.owner.limits.sendBufferBytes &&
      !(this.sndWnd === 0 && this.sendBuffer.length > 0)
    );
  }

  /** No more bytes for the peer: FIN after what is queued. */
  close(): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.finQueued = true;
    this.corked = false;
    if (this.state === 'ESTABLISHED') this.setState('FIN_WAIT_1');
    else if (this.state === 'CLOSE_WAIT') this.setState('LAST_ACK');
    this.owner.sendSpaceChanged();
    tcpOutput(this, false);
  }

  /** The consumer took bytes (its backlog shrank): the window may have opened enough to say so. */
  backlogDrained(): void {
    maybeWindowUpdate(this);
  }

  // ---- ending ----

  /** Resets the connection; `notifyPeer` sends RST to the peer. */
  abort(notifyPeer: boolean): void {
    if (this.state === 'CLOSED') return;
    if (notifyPeer && this.state !== 'TIME_WAIT') resetPeer(this);
    this.owner.aborted();
    this.release();
  }

  /** The consumer could not be reached (host connect failed): RST to the peer (or nothing), then forget. */
  refuse(sendRst: boolean): void {
    if (sendRst) resetPeer(this);
    this.release();
  }

  enterTimeWait(): void {
    this.setState('TIME_WAIT');
    this.rexmtTimer.cancel();
    this.keepaliveTimer.stop();
    this.lifeTimer.start(this.owner.limits.timeWaitMs);
    this.owner.enteredTimeWait();
  }

  /** Forgets the connection (timers, buffers) and tells the owner. */
  release(): void {
    if (this.state === 'CLOSED') return;
    this.setState('CLOSED');
    this.rexmtTimer.cancel();
    this.delackTimer.cancel();
    this.keepaliveTimer.cancel();
    this.lifeTimer.cancel();
    this.sendBuffer.clear();
    this.ooo.clear();
    this.owner.released();
  }

  setState(s: TcpState): void {
    if (this.state === s) return;
    this.state = s;
    this.owner.stateChanged();
    if (s !== 'CLOSED') this.owner.sendSpaceChanged();
  }
}

/** The reused fields of a connection's data and ACK segments; its payload comes from the send buffer. */
export class SegmentScratch implements PayloadSource {
  readonly options: OutgoingOptions = {};
  readonly timestamp: [number, number] = [0, 0];
  fillOffset = 0;
  fillLength = 0;

  constructor(
    readonly fields: SegmentFields,
    private readonly sendBuffer: ByteQueue,
  ) {}

  fill(dst: Uint8Array, at: number): void {
    this.sendBuffer.copyOut(this.fillOffset, this.fillLength, dst, at);
  }
}
