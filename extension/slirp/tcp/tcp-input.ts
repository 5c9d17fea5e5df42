/**
 * libslirp's tcp_input.c for one TcpSocket: what a segment from the peer does
 * (RFC 9293 3.10.7 "SEGMENT ARRIVES", with RFC 5961's challenge ACKs, RFC 7323
 * timestamps, SACK and NewReno's duplicate ACKs), then tcp_output.
 */
import { ACK, FIN, RST, SYN, type TcpOptions, type TcpSegmentView } from './segment';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt } from './seq';
import { challengeAck, retransmitAt, sendAck, sendReset, sendSyn, tcpOutput, tsNow } from './tcp-output';
import type { TcpSocket, TcpState } from './tcp-socket';

export function tcpInput(s: TcpSocket, v: TcpSegmentView, o: TcpOptions): void {
  s.lastActivity = s.owner.clock.now();
  s.stats.segmentsReceived++;
  const len = v.payloadLength;
  s.stats.bytesReceived += len;
  const flags = v.flags;
  const seq = v.seq;

  if (s.state === 'SYN_SENT') return inputSynSent(s, v, o);
  if (s.state === 'SYN_RECEIVED' && !s.synSent) {
    // Still waiting for accept() (the host connect).
    if (flags & RST && seq === s.rcvNxt) s.abort(false);
    else if (!(flags & SYN && seq === s.irs)) s.owner.drop('segment-while-connecting');
    return;
  }
  if (s.state === 'SYN_RECEIVED' && flags & SYN && !(flags & ACK) && seq === s.irs) {
    sendSyn(s); // the peer did not get our SYN-ACK
    return;
  }
  // Any segment answers the keepalive probes; the timer finds out from lastActivity when it fires.
  s.keepaliveProbesSent = 0;

  // 1. Sequence acceptability (RFC 793 p. 69).
  const segLen = len + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
  const wnd = Math.max(seqDiff(s.rcvAdvEdge, s.rcvNxt), 0);
  let acceptable: boolean;
  if (segLen === 0) acceptable = wnd === 0 ? seq === s.rcvNxt : (seqGeq(seq, s.rcvNxt) && seqLt(seq, seqAdd(s.rcvNxt, wnd))) || seq === s.rcvNxt;
  else
    acceptable =
      (wnd > 0 &&
        ((seqGeq(seq, s.rcvNxt) && seqLt(seq, seqAdd(s.rcvNxt, wnd))) ||
          (seqGeq(seqAdd(seq, segLen - 1), s.rcvNxt) && seqLt(seqAdd(seq, segLen - 1), seqAdd(s.rcvNxt, wnd))))) ||
      (seq === s.rcvNxt && segLen > 0 && wnd === 0);
  if (!acceptable) {
    if (flags & RST) {
      s.owner.drop('rst-out-of-window');
      return;
    }
    if (s.state === 'TIME_WAIT' && flags & SYN) {
      s.owner.drop('syn-in-time-wait');
      return;
    }
    // A retransmission of data we had, or a probe of a closed window: our ACK answers it.
    s.owner.drop(seqLt(seq, s.rcvNxt) ? 'duplicate' : 'out-of-window');
    sendAck(s);
    return;
  }

  // 2. RST (RFC 5961 section 3).
  if (flags & RST) {
    if (seq === s.rcvNxt) {
      s.abort(false);
    } else {
      s.owner.drop('rst-challenged');
      challengeAck(s);
    }
    return;
  }

  // 3. SYN in a synchronized state (RFC 5961 section 4).
  if (flags & SYN) {
    s.owner.drop('syn-in-window');
    challengeAck(s);
    return;
  }

  if (!(flags & ACK)) {
    s.owner.drop('no-ack');
    return;
  }

  if (s.tsOn && o.hasTimestamp && seqLeq(seq, s.lastAckSent)) s.tsRecent = o.tsVal;

  // 4. ACK.
  if (s.state === 'SYN_RECEIVED') {
    if (seqGt(v.ack, s.sndUna) && seqLeq(v.ack, s.sndMax)) {
      s.sndWnd = v.window << s.sndScale;
      s.sndWl1 = seq;
      s.sndWl2 = v.ack;
      s.established();
    } else {
      s.owner.drop('bad-ack');
      sendReset(s, v.ack);
      return;
    }
  }
  if (!processAck(s, v, o)) return;
  if (s.state === ('CLOSED' as TcpState)) return;

  // 5. Data and FIN.
  let ackNow = false;
  if (segLen > 0) {
    if (s.peerFinishedSending) {
      // Data or FIN after the peer's FIN: only a retransmitted FIN is expected; re-ACK it.
      ackNow = true;
      if (s.state === 'TIME_WAIT') s.lifeTimer.start(s.owner.limits.timeWaitMs);
    } else {
      ackNow = receive(s, v);
    }
  }
  tcpOutput(s, ackNow);
}

function inputSynSent(s: TcpSocket, v: TcpSegmentView, o: TcpOptions): void {
  const flags = v.flags;
  if (flags & ACK && v.ack !== seqAdd(s.iss, 1)) {
    s.owner.drop('bad-ack');
    if (!(flags & RST)) sendReset(s, v.ack);
    return;
  }
  if (flags & RST) {
    if (flags & ACK) s.abort(false); // nothing listens at the peer
    else s.owner.drop('rst-out-of-window');
    return;
  }
  if (!(flags & SYN) || !(flags & ACK)) {
    s.owner.drop(flags & SYN ? 'simultaneous-open' : 'no-syn');
    return;
  }
  s.irs = v.seq;
  s.rcvNxt = seqAdd(v.seq, 1);
  s.lastAckSent = s.rcvNxt;
  s.negotiate(o);
  if (o.hasTimestamp) {
    s.tsRecent = o.tsVal;
    if (o.tsEcr) s.rtt.sample((tsNow(s) - o.tsEcr) | 0);
  }
  s.sndUna = v.ack;
  s.sndWnd = v.window; // never scaled in a SYN
  s.maxSndWnd = s.sndWnd;
  s.sndWl1 = v.seq;
  s.sndWl2 = v.ack;
  s.established();
  tcpOutput(s, true);
}

/** Returns false when the segment must go no further. */
function processAck(s: TcpSocket, v: TcpSegmentView, o: TcpOptions): boolean {
  const ack = v.ack;
  if (s.persisting && ack === seqAdd(s.sndMax, 1) && s.sendBuffer.length > seqDiff(s.sndMax, s.bufSeq)) {
    // The peer took the zero-window probe byte.
    s.sndMax = s.sndNxt = ack;
  }
  if (seqGt(ack, s.sndMax)) {
    s.owner.drop('ack-unsent');
    sendAck(s);
    return false;
  }
  if (seqLt(ack, seqAdd(s.sndUna, -Math.max(s.maxSndWnd, 65535)))) {
    s.owner.drop('ack-too-old');
    challengeAck(s);
    return false;
  }
  if (s.sackOn && o.sackCount) {
    for (let i = 0; i < o.sackCount; i++) s.scoreboard.add(o.sack[2 * i], o.sack[2 * i + 1], s.sndUna, s.sndMax);
  }
  const window = v.window << s.sndScale;
  const oldWnd = s.sndWnd;
  if (seqLt(s.sndWl1, v.seq) || (s.sndWl1 === v.seq && seqLeq(s.sndWl2, ack))) {
    s.sndWnd = window;
    s.sndWl1 = v.seq;
    s.sndWl2 = ack;
    if (window > s.maxSndWnd) s.maxSndWnd = window;
  }

  if (seqGt(ack, s.sndUna)) {
    newlyAcked(s, ack, o);
  } else if (ack === s.sndUna && v.payloadLength === 0 && !(v.flags & (SYN | FIN)) && window === oldWnd && s.sndMax !== s.sndUna) {
    duplicateAck(s);
  }
  if (s.sndWnd > 0 && s.persisting) {
    s.persisting = false;
    s.rexmtTimer.stop();
    s.rtt.backoff = 0;
  }
  s.owner.sendSpaceChanged();
  return true;
}

function newlyAcked(s: TcpSocket, ack: number, o: TcpOptions): void {
  const acked = seqDiff(ack, s.sndUna);
  const dataAcked = Math.min(s.sendBuffer.length, Math.max(0, seqDiff(ack, s.bufSeq)));
  if (dataAcked > 0) {
    s.sendBuffer.drop(dataAcked);
    s.bufSeq = seqAdd(s.bufSeq, dataAcked);
  }
  if (s.tsOn && o.hasTimestamp && o.tsEcr) s.rtt.sample((tsNow(s) - o.tsEcr) | 0);
  else if (s.rttTiming && seqGt(ack, s.rttSeq)) s.rtt.sample(s.owner.clock.now() - s.rttStart);
  if (s.rttTiming && seqGt(ack, s.rttSeq)) s.rttTiming = false;
  s.rtt.backoff = 0;
  s.retransmits = 0;

  if (s.cc.onAck(ack, acked, s.flightSize, s.mss)) {
    // NewReno partial ACK: the next hole is lost too.
    s.sndUna = ack;
    retransmitAt(s, ack);
  }
  s.sndUna = ack;
  if (seqLt(s.sndNxt, ack)) s.sndNxt = ack;
  if (seqLt(s.rexmitNext, ack)) s.rexmitNext = ack;
  s.scoreboard.advance(ack);

  if (s.sndUna === s.sndMax) s.rexmtTimer.stop();
  else s.rexmtTimer.start(s.rtt.rto);

  if (s.finQueued && ack === seqAdd(s.finSeq, 1)) ourFinAcked(s);
}

function ourFinAcked(s: TcpSocket): void {
  switch (s.state) {
    case 'FIN_WAIT_1':
      s.setState('FIN_WAIT_2');
      break;
    case 'CLOSING':
      s.enterTimeWait();
      break;
    case 'LAST_ACK':
      s.release();
      break;
    default:
      break;
  }
}

function duplicateAck(s: TcpSocket): void {
  const dupAcks = s.cc.onDuplicateAck(s.mss);
  if (s.cc.inRecovery) {
    if (s.sackOn) retransmitNextHole(s);
    return;
  }
  if (dupAcks === 3 || (s.sackOn && dupAcks < 3 && s.scoreboard.sackedAbove(seqAdd(s.sndUna, 3 * s.mss)))) {
    s.cc.enterRecovery(s.flightSize, s.sndMax, s.mss);
    s.stats.fastRecoveries++;
    s.rttTiming = false;
    s.rexmitNext = s.sndUna;
    retransmitAt(s, s.sndUna);
  }
}

function retransmitNextHole(s: TcpSocket): void {
  let at = s.rexmitNext;
  const highest = s.scoreboard.highest(s.sndUna);
  for (let guard = 0; guard < 64 && seqLt(at, highest); guard++) {
    const end = s.scoreboard.sackedUntil(at);
    if (end === -1) {
      retransmitAt(s, at);
      return;
    }
    at = end;
  }
}

/**
 * Peer data: deliver what is in order, keep what is ahead. True when the ACK must go now.
 * The payload is the range [start, end) of the segment's bytes: no view of it is made
 * on the way to the owner (one per segment would be ~90 bytes of heap).
 */
function receive(s: TcpSocket, v: TcpSegmentView): boolean {
  if (s.state !== 'ESTABLISHED' && s.state !== 'FIN_WAIT_1' && s.state !== 'FIN_WAIT_2') return true;
  const bytes = v.segment; // urgent data is ordinary inline data here; the pointer is ignored
  let seq = v.seq;
  let start = v.headerLength;
  let end = bytes.length;
  let fin = (v.flags & FIN) !== 0;
  if (seqLt(seq, s.rcvNxt)) {
    const cut = seqDiff(s.rcvNxt, seq);
    if (cut >= end - start) {
      // Only old bytes, maybe with a FIN at the end.
      if (!(fin && cut === end - start)) return true;
      start = end;
    } else start += cut;
    seq = s.rcvNxt;
  }
  const wnd = Math.max(seqDiff(s.rcvAdvEdge, s.rcvNxt), 0);
  const room = wnd - seqDiff(seq, s.rcvNxt);
  let trimmed = false;
  if (end - start > room) {
    // Past our window (or a probe of a closed one): keep what fits and answer at once.
    s.owner.drop('beyond-window');
    end = start + Math.max(0, room);
    fin = false;
    trimmed = true;
  }
  if (end === start && !fin) return true;
  if (seq !== s.rcvNxt) {
    if (!s.ooo.insert(seq, bytes.subarray(start, end), fin)) s.owner.drop(s.ooo.size >= s.owner.limits.oooSegments ? 'ooo-full' : 'duplicate');
    return true;
  }
  const filledHole = s.ooo.size > 0;
  if (end > start) {
    s.owner.received(bytes, start, end);
    s.rcvNxt = seqAdd(s.rcvNxt, end - start);
  }
  let finNow = fin;
  if (fin) s.rcvNxt = seqAdd(s.rcvNxt, 1);
  else if (filledHole) finNow = pullReassembled(s);
  if (fin) s.ooo.clear();
  if (finNow) {
    const closing = s.state === 'ESTABLISHED';
    peerFin(s);
    if (!closing) return true;
    // The consumer usually answers the shutdown with its own end within a few ms: the ACK of the
    // peer's FIN then rides on our FIN (one segment, one guest interrupt, not two). Otherwise
    // the delayed-ACK timer sends it, as for data.
    s.ackPending++;
    return s.ackPending >= 2;
  }
  s.ackPending++;
  return filledHole || trimmed || s.ackPending >= 2;
}

/**
 * Delivers what an arrival made contiguous; true when that reached the peer's
 * FIN. On its own so that the closures it needs are made only here, not on
 * every segment receive() takes.
 */
function pullReassembled(s: TcpSocket): boolean {
  let fin = false;
  s.rcvNxt = s.ooo.pull(
    s.rcvNxt,
    (d) => s.owner.received(d, 0, d.length),
    () => (fin = true),
  );
  return fin;
}

function peerFin(s: TcpSocket): void {
  s.peerFinishedSending = true;
  s.owner.peerFinished();
  switch (s.state) {
    case 'ESTABLISHED':
      s.setState('CLOSE_WAIT');
      break;
    case 'FIN_WAIT_1':
      if (s.finQueued && s.sndUna === seqAdd(s.finSeq, 1)) s.enterTimeWait();
      else s.setState('CLOSING');
      break;
    case 'FIN_WAIT_2':
      s.enterTimeWait();
      break;
    default:
      break;
  }
}
