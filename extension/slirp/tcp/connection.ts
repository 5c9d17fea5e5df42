/**
 * One TCP flow through the NAT: the I/O-free TcpSocket (tcp-socket.ts) toward
 * the guest, the HostPipe (host-pipe.ts) toward the host's Node stream, and the
 * NAT session view the table lists (`info usernet`, the sessions view, probes).
 * This file only joins them: it moves bytes between the two, decides when the
 * host is read (flow control, a paused VM), and throttles counter updates. It
 * is the socket's owner and the pipe's listener itself, so that a connection
 * costs no closures for them (1,000 open connections are 1,000 of these).
 */
import type { Clock } from '../../pipeline/clock';
import type { ProbeHub, SessionInfo } from '../../pipeline/probe';
import { SOREAD_ROUTE } from '../../pipeline/route';
import { sessionInfo } from '../core';
import type { NatSession } from '../nat';
import type { TcpLimits } from './limits';
import type { TcpOptions, TcpSegmentView } from './segment';
import { HostPipe, type HostPipeEvents } from './host-pipe';
import type { HostStream } from './host-stream';
import { TcpSocket, type TcpSocketOwner, type TcpState } from './tcp-socket';
import { ConnectionTimer } from './timer';

export type { TcpState } from './tcp-socket';

/** What a connection needs from the stack that owns it. */
export interface ConnectionOwner {
  readonly clock: Clock;
  readonly limits: TcpLimits;
  readonly probes: ProbeHub;
  readonly paused: boolean;
  /** Sends a frame holding a segment from `headroom` on toward the guest (through the tcp_output probe). */
  emit(conn: TcpConnection, frame: Uint8Array): void;
  /** Bytes a frame keeps before the TCP header. */
  readonly headroom: number;
  /** A zeroed frame: `headroom` bytes, then `length` bytes for one segment. */
  readonly allocateFrame: (length: number) => Uint8Array;
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

export class TcpConnection implements NatSession, TcpSocketOwner, HostPipeEvents {
  readonly protocol = 'tcp' as const;
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

  /** The protocol toward the guest. */
  readonly socket: TcpSocket;
  /** The host side: the Node stream, its probes and flow control. */
  private readonly pipe: HostPipe;
  private lastNotified = -Infinity;
  private uncorkScheduled = false;
  /** Carries the last counter update of a burst to the table. */
  private readonly notifyTimer: ConnectionTimer;
  /** The stack's own function (the socket calls it unbound), shared by every connection. */
  readonly allocateFrame: (length: number) => Uint8Array;

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
    this.createdAt = owner.clock.now();
    this.notifyTimer = new ConnectionTimer(owner.clock, () => this.notifyCounters());
    this.allocateFrame = owner.allocateFrame;
    // This object is the pipe's listener and the socket's owner (methods below): no closures per connection for them.
    this.pipe = new HostPipe(owner.probes, this);
    this.socket = new TcpSocket({ localAddr: ends.remoteAddr, localPort: ends.remotePort, peerAddr: ends.guestAddr, peerPort: ends.guestPort }, this);
  }

  // ---- as the socket's owner (TcpSocketOwner) ----

  get clock(): Clock {
    return this.owner.clock;
  }

  get limits(): TcpLimits {
    return this.owner.limits;
  }

  get headroom(): number {
    return this.owner.headroom;
  }

  output(frame: Uint8Array): void {
    this.owner.emit(this, frame);
  }

  drop(reason: string): void {
    this.owner.drop(reason);
  }

  challengeAllowed(): boolean {
    return this.owner.challengeAllowed();
  }

  received(bytes: Uint8Array, start: number, end: number): void {
    this.pipe.write(bytes, start, end);
  }

  peerFinished(): void {
    this.pipe.end();
  }

  get backlog(): number {
    return this.pipe.backlog;
  }

  stateChanged(): void {
    this.owner.stateChanged(this);
  }

  sendSpaceChanged(): void {
    this.updateReading();
  }

  enteredTimeWait(): void {
    this.owner.enteredTimeWait(this);
  }

  aborted(): void {
    this.pipe.abort();
  }

  released(): void {
    this.notifyTimer.cancel();
    // A normal ending has both halves closed: the stream finishes writing and closes by itself.
    this.pipe.release();
    this.owner.released(this);
  }

  // ---- as the host pipe's listener (HostPipeEvents) ----

  hostData(chunk: Buffer): void {
    // The chunks read in one turn of the event loop leave as full segments; the last tail goes at its end.
    if (!this.uncorkScheduled) {
      this.uncorkScheduled = true;
      this.socket.cork();
      setImmediate(uncorkAtTurnEnd, this);
    }
    this.socket.send(chunk);
    this.notifyCounters();
  }

  /** The turn's host reads are all in: the tail of the last one may leave as a short segment. */
  uncorkTurn(): void {
    this.uncorkScheduled = false;
    // The tail of the turn's reads leaves now, on their route (route.ts).
    this.owner.probes.resumeRoute(SOREAD_ROUTE);
    this.socket.uncork();
    this.owner.probes.endRoute();
  }

  hostEnded(): void {
    this.socket.close();
  }

  hostDrained(): void {
    this.socket.backlogDrained();
  }

  /** ECONNRESET, EPIPE and the like: the guest learns it as RST. */
  hostFailed(): void {
    this.socket.abort(true);
  }

  readingMayChange(): void {
    this.updateReading();
  }

  get isOpen(): boolean {
    return this.socket.state !== 'CLOSED';
  }

  // ---- NAT session view ----

  get state(): TcpState {
    return this.socket.state;
  }

  get lastActivity(): number {
    return this.socket.lastActivity;
  }

  /** Guest to host ("out") and host to guest ("in"), as the NAT table counts. */
  get packetsOut(): number {
    return this.socket.stats.segmentsReceived;
  }

  get bytesOut(): number {
    return this.socket.stats.bytesReceived;
  }

  get packetsIn(): number {
    return this.socket.stats.segmentsSent;
  }

  get bytesIn(): number {
    return this.socket.stats.bytesSent;
  }

  get recvQ(): number {
    return this.socket.sendQueued + this.pipe.heldFromHost;
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
    return this.socket.halfOpen;
  }

  close(): void {
    this.abort(true);
  }

  sessionInfo(): SessionInfo {
    return sessionInfo(this);
  }

  /** Read-only: our congestion window, the guest's advertised window and srtt, for the TCP stream graph. */
  tcpSample() {
    const s = this.socket;
    return { cwnd: s.cc.cwnd, ssthresh: s.cc.ssthresh, peerWindow: s.sndWnd, srtt: s.rtt.smoothedRtt, inFlight: s.flightSize, retransmits: s.retransmits };
  }

  // ---- opening ----

  /** Guest SYN: remember its options; the SYN-ACK waits for the host connect. */
  acceptGuestSyn(v: TcpSegmentView, o: TcpOptions): void {
    this.socket.listen(v, o);
  }

  /** The host connect finished: the stream is ours, answer the guest with SYN-ACK. */
  hostConnected(stream: HostStream): void {
    if (this.socket.state === 'CLOSED') {
      stream.destroy();
      return;
    }
    this.attachStream(stream);
    this.socket.accept();
  }

  /** An accepted hostfwd connection: send our SYN to the guest. */
  openToGuest(stream: HostStream): void {
    this.attachStream(stream);
    this.socket.connect();
  }

  private attachStream(stream: HostStream): void {
    const ends = this.pipe.attach(stream);
    this.hostLocalAddr = ends.localAddress;
    this.hostLocalPort = ends.localPort;
    this.hostPeerAddr ||= ends.remoteAddress;
    this.hostPeerPort ||= ends.remotePort;
  }

  /** Reads from the host only while the socket takes more bytes and nothing (the VM, a probe) holds them. */
  updateReading(): void {
    this.pipe.setReading(!this.owner.paused && this.pipe.canRead && this.socket.wantsData);
  }

  // ---- from the guest ----

  input(v: TcpSegmentView, o: TcpOptions): void {
    this.socket.input(v, o);
    this.notifyCounters(this.socket.lastActivity);
  }

  // ---- teardown ----

  /** A failed host connect: RST (or nothing, when the caller answers with ICMP). */
  connectFailed(sendRst: boolean): void {
    this.socket.refuse(sendRst);
  }

  /** The slirp closes (the VM or QEMU went away): the host peer sees FIN, as under libslirp, not RST. */
  shutdown(): void {
    if (this.socket.state === 'CLOSED') return;
    this.pipe.finish();
    this.socket.release();
  }

  /** Resets both sides; `notifyGuest` sends RST to the guest. */
  abort(notifyGuest: boolean): void {
    this.socket.abort(notifyGuest);
  }

  /** Forgets the connection (timers, buffers, host stream) and tells the stack. */
  release(): void {
    this.socket.release();
  }

  /** Counter updates reach the table at most every half second, the last of a burst included. */
  notifyCounters(now = this.owner.clock.now()): void {
    if (this.socket.state === 'CLOSED') return;
    const since = now - this.lastNotified;
    if (since < 500) {
      this.notifyTimer.ensure(500 - since);
      return;
    }
    this.lastNotified = now;
    this.owner.countersChanged(this);
  }
}

/** One function for every connection (setImmediate passes the connection): no closure per connection. */
function uncorkAtTurnEnd(conn: TcpConnection): void {
  conn.uncorkTurn();
}
