/**
 * libslirp's tcp_output.c for one TcpSocket: what the windows allow to send
 * now, each segment built once in the bytes the owner gives (the frame it will
 * leave in), with the current ACK, window and options; SYNs, ACKs and RSTs.
 */
import { ACK, buildSegment, FIN, optionsLength, PSH, RST, SYN, type OutgoingOptions } from './segment';
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt } from './seq';
import type { TcpSocket } from './tcp-socket';

/** tcp_output: send what the windows allow, then an ACK if one is owed. */
export function tcpOutput(s: TcpSocket, ackNow: boolean): void {
  if (s.state === 'CLOSED' || s.state === 'SYN_SENT' || s.state === 'SYN_RECEIVED') {
    if (ackNow && s.state === 'SYN_SENT') sendAck(s);
    return;
  }
  let sent = false;
  if (s.state !== 'TIME_WAIT') {
    // The options cannot change inside this loop (no peer input runs), so neither can the room.
    const room = payloadRoom(s);
    for (let guard = 0; guard < 4096; guard++) {
      if (seqLt(s.sndNxt, s.sndMax) && s.sackOn) {
        const end = s.scoreboard.sackedUntil(s.sndNxt);
        if (end !== -1) {
          s.sndNxt = end;
          continue;
        }
      }
      const off = seqDiff(s.sndNxt, s.bufSeq);
      const avail = s.sendBuffer.length - off;
      const usable = seqDiff(seqAdd(s.sndUna, Math.min(s.sndWnd, s.cc.cwnd)), s.sndNxt);
      let len = Math.max(0, Math.min(avail, room, usable));
      if (len > 0 && s.sackOn && seqLt(s.sndNxt, s.sndMax)) {
        const nextSacked = s.scoreboard.nextSackedAfter(s.sndNxt);
        if (nextSacked !== -1) len = Math.min(len, seqDiff(nextSacked, s.sndNxt));
      }
      const reachesEnd = off + len === s.sendBuffer.length;
      const finDue = s.finQueued && reachesEnd && seqLeq(seqAdd(s.sndNxt, len), s.finSeq);
      // A short segment goes only at the end of what is queued, and not while the owner says more is coming (cork).
      if (len > 0 && (len === room || (!s.corked && (reachesEnd || s.sndNxt === s.sndUna)))) {
        transmit(s, s.sndNxt, len, finDue);
        s.sndNxt = seqAdd(s.sndNxt, len + (finDue ? 1 : 0));
        if (seqGt(s.sndNxt, s.sndMax)) s.sndMax = s.sndNxt;
        sent = true;
        continue;
      }
      if (len === 0 && avail === 0 && finDue) {
        transmit(s, s.sndNxt, 0, true);
        s.sndNxt = seqAdd(s.sndNxt, 1);
        if (seqGt(s.sndNxt, s.sndMax)) s.sndMax = s.sndNxt;
        sent = true;
      }
      break;
    }
  }
  if (!sent && (ackNow || s.ackPending > 0)) {
    if (ackNow || s.ackPending >= 2) sendAck(s);
    else s.delackTimer.ensure(s.owner.limits.delayedAckMs);
  }
  armSendTimers(s);
}

function armSendTimers(s: TcpSocket): void {
  if (s.sndMax !== s.sndUna) {
    if (!s.persisting) s.rexmtTimer.ensure(s.rtt.rto);
    return;
  }
  const unsent = s.sendBuffer.length - seqDiff(s.sndNxt, s.bufSeq);
  if (unsent > 0 && s.sndWnd === 0 && !s.persisting) {
    s.persisting = true;
    s.rexmtTimer.start(s.rtt.rto);
  }
}

export function transmit(s: TcpSocket, seq: number, len: number, fin: boolean): void {
  if (len > 0 && !s.rttTiming && seq === s.sndMax && !s.tsOn && !s.persisting) {
    s.rttTiming = true;
    s.rttSeq = seq;
    s.rttStart = s.owner.clock.now();
  }
  if (len > 0 && seqLt(seq, s.sndMax)) s.stats.retransmitted++;
  const off = seqDiff(seq, s.bufSeq);
  let flags = ACK | (fin ? FIN : 0);
  if (len > 0 && off + len === s.sendBuffer.length) flags |= PSH;
  emit(s, seq, flags, len, off);
  s.stats.bytesSent += len;
}

/** One segment from `seq`, for fast retransmit and partial ACKs; sndNxt stays. */
export function retransmitAt(s: TcpSocket, seq: number): void {
  const off = seqDiff(seq, s.bufSeq);
  if (off < 0) return;
  let len = Math.max(0, Math.min(payloadRoom(s), s.sendBuffer.length - off, seqDiff(s.sndMax, seq)));
  const nextSacked = s.sackOn ? s.scoreboard.nextSackedAfter(seq) : -1;
  if (nextSacked !== -1) len = Math.min(len, seqDiff(nextSacked, seq));
  const fin = s.finQueued && off + len === s.sendBuffer.length && seqGt(s.sndMax, s.finSeq);
  if (len === 0 && !fin) return;
  s.rexmitNext = seqAdd(seq, len + (fin ? 1 : 0));
  transmit(s, seq, len, fin);
  s.rexmtTimer.start(s.rtt.rto);
}

/** Our SYN (active open) or SYN-ACK (passive), with every option we offer. */
export function sendSyn(s: TcpSocket): void {
  const L = s.owner.limits;
  const active = s.state === 'SYN_SENT';
  const opts: OutgoingOptions = {
    mss: L.mss,
    windowScale: active || s.wsOn ? s.rcvScale : undefined,
    sackPermitted: active || s.sackOn,
    timestamp: active || s.tsOn ? [tsNow(s), active ? 0 : s.tsRecent] : undefined,
  };
  s.sndNxt = seqAdd(s.iss, 1);
  s.sndMax = s.sndNxt;
  const window = Math.min(receiveWindow(s) || L.recvBufferBytes, 65535);
  s.rcvAdvEdge = seqAdd(s.rcvNxt, window);
  const e = s.ends;
  const frame = buildSegment(
    { src: e.localAddr, dst: e.peerAddr, srcPort: e.localPort, dstPort: e.peerPort, seq: s.iss, ack: active ? 0 : s.rcvNxt, flags: active ? SYN : SYN | ACK, window, options: opts },
    0,
    undefined,
    s.owner.allocateFrame, s.owner.headroom,
  );
  s.stats.segmentsSent++;
  s.owner.output(frame);
  s.rexmtTimer.start(s.rtt.rto);
}

export function sendAck(s: TcpSocket): void {
  if (s.state === 'CLOSED') return;
  emit(s, s.sndNxt, ACK, 0, 0);
}

/** An ACK answering a suspicious segment, within the stack's RFC 5961 rate. */
export function challengeAck(s: TcpSocket): void {
  if (s.owner.challengeAllowed()) sendAck(s);
}

export function sendReset(s: TcpSocket, seq: number, ack = 0, flags = RST): void {
  const e = s.ends;
  const frame = buildSegment({ src: e.localAddr, dst: e.peerAddr, srcPort: e.localPort, dstPort: e.peerPort, seq, ack, flags, window: 0 }, 0, undefined, s.owner.allocateFrame, s.owner.headroom);
  s.stats.segmentsSent++;
  s.owner.output(frame);
}

/** RST to the peer: before our SYN-ACK it acknowledges the SYN (the peer knows no other sequence of ours). */
export function resetPeer(s: TcpSocket): void {
  if (s.state === 'SYN_RECEIVED' && !s.synSent) sendReset(s, 0, s.rcvNxt, RST | ACK);
  else sendReset(s, s.sndNxt);
}

export function tsNow(s: TcpSocket): number {
  return Math.floor(s.owner.clock.now()) >>> 0;
}

/** The window we may advertise: free room toward the consumer, never less than already promised. */
export function receiveWindow(s: TcpSocket): number {
  let free = s.owner.limits.recvBufferBytes - s.owner.backlog;
  if (free < s.mss) free = 0; // no silly windows (RFC 1122 4.2.3.3)
  const promised = seqDiff(s.rcvAdvEdge, s.rcvNxt);
  return Math.max(free, promised, 0);
}

/** A window update when the consumer's draining opened the window by two segments, or from closed to usable. */
export function maybeWindowUpdate(s: TcpSocket): void {
  if (s.state === 'CLOSED' || s.state === 'TIME_WAIT' || s.peerFinishedSending) return;
  const advertised = Math.max(0, seqDiff(s.rcvAdvEdge, s.rcvNxt));
  const now = receiveWindow(s);
  if (now - advertised >= 2 * s.mss || (advertised < s.mss && now >= s.mss)) sendAck(s);
}

/**
 * The options of a non-SYN segment sent now: timestamps on every one when
 * negotiated (RFC 7323 3.2), SACK blocks only while peer data waits out of
 * order (RFC 2018 4). At most 40 bytes: three blocks fit beside timestamps.
 */
function segmentOptions(s: TcpSocket): OutgoingOptions | undefined {
  if (!s.tsOn && !(s.sackOn && s.ooo.size)) return undefined;
  const options = s.out.options;
  if (s.tsOn) {
    s.out.timestamp[0] = tsNow(s);
    s.out.timestamp[1] = s.tsRecent;
    options.timestamp = s.out.timestamp;
  } else options.timestamp = undefined;
  options.sackBlocks = s.sackOn && s.ooo.size ? s.ooo.sackBlocks(s.tsOn ? 3 : 4) : undefined;
  return options;
}

/**
 * Payload bytes a segment sent now may carry: the effective MSS less the
 * option bytes it will carry (RFC 6691), so header and data stay within the
 * MTU the MSS was derived from and the datagram is never fragmented.
 */
export function payloadRoom(s: TcpSocket): number {
  return Math.max(1, s.mss - optionsLength(segmentOptions(s)));
}

/** Builds and sends one segment carrying the current ACK, window and options. */
export function emit(s: TcpSocket, seq: number, flags: number, len: number, bufOffset: number): void {
  const options = segmentOptions(s);
  const window = receiveWindow(s);
  const field = Math.min(window >>> s.rcvScale, 65535);
  const edge = seqAdd(s.rcvNxt, field << s.rcvScale);
  if (seqGt(edge, s.rcvAdvEdge)) s.rcvAdvEdge = edge;
  const out = s.out;
  const f = out.fields;
  f.seq = seq;
  f.ack = s.rcvNxt;
  f.flags = flags;
  f.window = field;
  f.options = options;
  out.fillOffset = bufOffset;
  out.fillLength = len;
  const frame = buildSegment(f, len, len ? out : undefined, s.owner.allocateFrame, s.owner.headroom);
  if (flags & ACK) {
    s.lastAckSent = s.rcvNxt;
    s.ackPending = 0;
    s.delackTimer.stop();
  }
  s.stats.segmentsSent++;
  s.owner.output(frame);
}
