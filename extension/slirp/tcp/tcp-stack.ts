import type * as net from 'node:net';
import type { Clock } from '../../pipeline/clock';
import { tcpDropReason } from '../../pipeline/drop-reasons';
import type { ProbeHub } from '../../pipeline/probe';
import type { StageName } from '../../pipeline/stages';
import type { HostForward } from '../config';
import type { TcpHost, TcpLayer } from '../tcp-contract';
import { tcpChecksumValid } from './checksum';
import { TcpConnection, type ConnectionOwner } from './connection';
import { ConnectionTable } from './connection-table';
import { findGuestForward } from './guest-forwards';
import { HostForwarder } from './host-forwards';
import { connectTcp, spawnCommand, type ConnectOutcome } from './host-stream';
import { ICMP_HOST_UNREACHABLE, ICMP_NET_UNREACHABLE, icmpUnreachable } from './icmp-unreachable';
import { DEFAULT_TCP_LIMITS, mssForMtu, type TcpLimits } from './limits';
import { ACK, buildSegment, FIN, parseOptions, RST, SYN, TcpOptions, TcpSegmentView } from './segment';
import { seqAdd } from './seq';
import { IPPROTO_ICMP, IPPROTO_TCP } from '../../wire/ipv4';

export type { TcpLimits } from './limits';
export { DEFAULT_TCP_LIMITS } from './limits';

/**
 * The TCP layer of the slirp: demultiplexes guest segments to connections,
 * opens host connections for guest SYNs, accepts hostfwd connections, and
 * keeps every limit. Nothing thrown inside ever leaves input().
 */
export class TcpStack implements TcpLayer, ConnectionOwner {
  readonly limits: TcpLimits;
  /** Segments dropped, by reason. */
  readonly drops: Record<string, number> = {};
  private readonly connections = new ConnectionTable();
  private readonly timeWait = new Set<TcpConnection>();
  /**
   * Guest-opened connections still in their handshake, kept as their state changes
   * (stateChanged; a release changes it to CLOSED first): the SYN backlog is checked
   * against its size, not a walk of every connection per SYN once the live ones
   * reach it. A set, not a counter: adding or deleting twice cannot skew it.
   */
  private readonly inHandshake = new Set<TcpConnection>();
  private readonly view = new TcpSegmentView();
  private readonly options = new TcpOptions();
  private readonly forwarder: HostForwarder;
  private isPaused = false;
  private challengeWindowStart = 0;
  private challengeCount = 0;

  constructor(
    private readonly host: TcpHost,
    limits?: Partial<TcpLimits>,
  ) {
    this.limits = { ...DEFAULT_TCP_LIMITS, mss: mssForMtu(host.config.mtu), ...limits };
    this.forwarder = new HostForwarder(
      host.nat,
      (rule, socket) => this.acceptForwarded(rule, socket),
      (rule) => rule.guestAddr || host.guestAddress(),
    );
  }

  readonly allocateFrame = (length: number): Uint8Array => this.host.allocateFrame(length);

  get headroom(): number {
    return this.host.headroom;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  get probes(): ProbeHub {
    return this.host.probes;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Live connections, TIME_WAIT included. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Guest-opened connections in SYN_RECEIVED or SYN_SENT: what the SYN backlog bounds. */
  get halfOpenCount(): number {
    return this.inHandshake.size;
  }

  /** The connections (for tests and the debugger). */
  list(): TcpConnection[] {
    return [...this.connections.values()];
  }

  // ---- TcpLayer ----

  input(src: number, dst: number, segment: Uint8Array, frame?: Uint8Array): void {
    try {
      if (this.host.probes.probes.tcp_input.enter() && this.heldAtInput(src, dst, segment, frame)) return;
      this.tcpInput(src, dst, segment);
    } catch {
      this.drop('internal-error');
    }
  }

  /**
   * The armed tcp_input probe sees the segment; true when it holds it (it comes
   * back through input()). A method of its own: the context its closure needs is
   * then made only when a probe is armed, not on every segment.
   */
  private heldAtInput(src: number, dst: number, segment: Uint8Array, frame: Uint8Array | undefined): boolean {
    const conn = segment.length >= 4 ? this.connections.get(src, (segment[0] << 8) | segment[1], dst, (segment[2] << 8) | segment[3]) : undefined;
    const hit = { stage: 'tcp_input' as const, frame: frame ?? new Uint8Array(0), session: conn?.sessionInfo() };
    return this.host.probes.probes.tcp_input.fire(hit, () => this.input(src, dst, segment, hit.frame));
  }

  pause(): void {
    this.isPaused = true;
    for (const c of this.connections.values()) c.updateReading();
  }

  resume(): void {
    this.isPaused = false;
    for (const c of this.connections.values()) c.updateReading();
  }

  addHostForward(rule: HostForward): Promise<void> {
    return this.forwarder.add(rule);
  }

  removeHostForward(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    return this.forwarder.remove(rule);
  }

  /** The port a hostfwd rule is bound to (the real one when the rule asked for 0). */
  hostForwardPort(hostAddr: string, hostPort: number): number | undefined {
    return this.forwarder.boundPort(hostAddr, hostPort);
  }

  close(): void {
    this.forwarder.closeAll();
    for (const c of [...this.connections.values()]) c.shutdown();
  }

  /** tcp_output: a frame holding a segment goes to ip_output, past the probe (which sees it with the headers ip_output will write). */
  private output(src: number, dst: number, frame: Uint8Array, session?: TcpConnection): void {
    if (this.host.probes.probes.tcp_output.enter() && this.heldAtOutput(src, dst, frame, session)) return;
    this.host.ipOutput(src, dst, IPPROTO_TCP, frame);
  }

  /** The armed tcp_output probe sees the frame; true when it holds it. On its own for the same reason as heldAtInput. */
  private heldAtOutput(src: number, dst: number, frame: Uint8Array, session: TcpConnection | undefined): boolean {
    this.host.stampHeaders?.(src, dst, IPPROTO_TCP, frame);
    return this.host.probes.probes.tcp_output.fire({ stage: 'tcp_output', frame, session: session?.sessionInfo() }, () => this.host.ipOutput(src, dst, IPPROTO_TCP, frame));
  }

  // ---- ConnectionOwner ----

  emit(conn: TcpConnection, frame: Uint8Array): void {
    this.output(conn.remoteAddr, conn.guestAddr, frame, conn);
  }

  /** `stage` only where the reason is decided elsewhere than its usual stage (drop-reasons.ts). */
  drop(reason: string, stage?: StageName): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.host.probes.drops.drop(tcpDropReason(reason), stage);
  }

  challengeAllowed(): boolean {
    const now = this.clock.now();
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.limits.challengeAcksPerSecond) {
      this.drop('challenge-rate-limited');
      return false;
    }
    this.challengeCount++;
    return true;
  }

  stateChanged(conn: TcpConnection): void {
    if (conn.halfOpen && !conn.inbound) this.inHandshake.add(conn);
    else this.inHandshake.delete(conn);
    this.host.nat.changed(conn);
  }

  countersChanged(conn: TcpConnection): void {
    this.host.nat.changed(conn);
  }

  enteredTimeWait(conn: TcpConnection): void {
    this.timeWait.add(conn);
    if (this.timeWait.size > this.limits.maxTimeWait) {
      const oldest = this.timeWait.values().next().value;
      oldest?.release();
    }
  }

  released(conn: TcpConnection): void {
    this.connections.delete(conn);
    this.timeWait.delete(conn);
    this.host.nat.remove(conn);
  }

  // ---- tcp_input ----

  private tcpInput(src: number, dst: number, segment: Uint8Array): void {
    const v = this.view;
    const bad = v.wrap(segment);
    if (bad) return this.drop(bad);
    if (this.limits.verifyChecksum && !tcpChecksumValid(src, dst, segment)) return this.drop('bad-checksum');
    const badOptions = parseOptions(segment, v.headerLength, this.options);
    if (badOptions) return this.drop(badOptions);
    if (v.srcPort === 0 || v.dstPort === 0) return this.drop('zero-port');
    if (dst >>> 28 === 0xe || dst === 0xffffffff) return this.drop('multicast-destination');

    const flags = v.flags;
    let conn = this.connections.get(src, v.srcPort, dst, v.dstPort);
    if (conn && conn.state === 'TIME_WAIT' && (flags & (SYN | ACK | RST)) === SYN) {
      // A new incarnation of the same ports (RFC 6191 spirit): the old one is done.
      conn.release();
      conn = undefined;
    }
    if (conn) {
      conn.input(v, this.options);
      return;
    }
    if (flags & RST) return this.drop('rst-no-connection');
    if ((flags & (SYN | ACK)) !== SYN) {
      this.drop('no-connection');
      this.respondReset(src, dst, v);
      return;
    }
    if (flags & FIN) return this.drop('syn-fin');
    this.openFromGuest(src, dst, v);
  }

  private liveCount(): number {
    return this.connections.size - this.timeWait.size;
  }

  private openFromGuest(src: number, dst: number, v: TcpSegmentView): void {
    if (this.liveCount() >= this.limits.maxConnections || this.host.nat.full) {
      this.drop('max-connections', 'soread');
      this.respondReset(src, dst, v);
      return;
    }
    if (this.inHandshake.size >= this.limits.synBacklog) return this.drop('syn-backlog');

    const forward = findGuestForward(this.host.config, dst, v.dstPort);
    let target: { kind: 'tcp'; host: string; port: number } | { kind: 'cmd'; command: string };
    if (forward) target = forward.target;
    else {
      const hostAddr = this.host.hostAddressFor(dst);
      if (hostAddr === null) {
        this.drop('unreachable-destination');
        this.respondReset(src, dst, v);
        return;
      }
      target = { kind: 'tcp', host: hostAddr, port: v.dstPort };
    }

    const conn = new TcpConnection(
      this.host.nat.allocateId(),
      { guestAddr: src, guestPort: v.srcPort, remoteAddr: dst, remotePort: v.dstPort, inbound: false },
      this,
    );
    if (target.kind === 'tcp') {
      conn.hostPeerAddr = target.host;
      conn.hostPeerPort = target.port;
    } else {
      conn.hostPeerAddr = 'cmd';
    }
    conn.acceptGuestSyn(v, this.options);
    this.register(conn);
    const synHead = v.segment.slice(0, 8);
    const synLength = v.segment.length;
    const done = (outcome: ConnectOutcome) => {
      if (conn.state === 'CLOSED') {
        if (outcome.ok) outcome.stream.destroy();
        return;
      }
      if (outcome.ok) {
        conn.hostConnected(outcome.stream);
        return;
      }
      this.drop(`connect-${outcome.code}`);
      if (outcome.code === 'EHOSTUNREACH' || outcome.code === 'ENETUNREACH') {
        // As libslirp: unreachable is reported by ICMP, refusal by RST. The router that
        // found no way on says it (RFC 1812 4.3.2.4): the gateway, not the unreachable host.
        const code = outcome.code === 'EHOSTUNREACH' ? ICMP_HOST_UNREACHABLE : ICMP_NET_UNREACHABLE;
        const icmp = icmpUnreachable(src, dst, code, synHead, synLength);
        const frame = this.host.allocateFrame(icmp.length);
        frame.set(icmp, this.host.headroom);
        this.host.ipOutput(this.host.config.host, src, IPPROTO_ICMP, frame);
        conn.connectFailed(false);
      } else {
        conn.connectFailed(true);
      }
    };
    if (target.kind === 'tcp') connectTcp(target.host, target.port, done);
    else spawnCommand(target.command, done);
  }

  private register(conn: TcpConnection): void {
    if (this.host.addressText) {
      conn.guestAddr6 = this.host.addressText(conn.guestAddr);
      conn.remoteAddr6 = this.host.addressText(conn.remoteAddr);
    }
    this.connections.add(conn);
    this.host.nat.add(conn);
  }

  /** RST for a segment that belongs to nothing (RFC 793 "reset generation"). */
  private respondReset(src: number, dst: number, v: TcpSegmentView): void {
    if (!this.challengeAllowed()) return;
    const flags = v.flags;
    const hasAck = (flags & ACK) !== 0;
    const segLen = v.payloadLength + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    const frame = buildSegment(
      { src: dst, dst: src, srcPort: v.dstPort, dstPort: v.srcPort, seq: hasAck ? v.ack : 0, ack: hasAck ? 0 : seqAdd(v.seq, segLen), flags: hasAck ? RST : RST | ACK, window: 0 },
      0,
      undefined,
      this.allocateFrame,
      this.headroom,
    );
    this.output(dst, src, frame);
  }

  // ---- hostfwd ----

  private acceptForwarded(rule: HostForward, socket: net.Socket): void {
    socket.on('error', () => {}); // until a connection owns it
    if (this.liveCount() >= this.limits.maxConnections || this.host.nat.full) {
      this.drop('max-connections', 'soread');
      socket.destroy();
      return;
    }
    const guestAddr = rule.guestAddr || this.host.guestAddress();
    const gatewayAddr = this.host.config.host;
    // The source port shows the host peer's port, as libslirp does, unless that 4-tuple is taken.
    let port = socket.remotePort ?? 0;
    for (let tries = 0; port === 0 || this.connections.has(guestAddr, rule.guestPort, gatewayAddr, port); tries++) {
      if (tries > 64) {
        this.drop('no-free-port');
        socket.destroy();
        return;
      }
      port = 49152 + Math.floor(Math.random() * 16384);
    }
    const conn = new TcpConnection(
      this.host.nat.allocateId(),
      { guestAddr, guestPort: rule.guestPort, remoteAddr: gatewayAddr, remotePort: port, inbound: true },
      this,
    );
    this.register(conn);
    conn.openToGuest(socket);
  }
}
