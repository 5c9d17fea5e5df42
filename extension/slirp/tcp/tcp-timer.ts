/**
 * libslirp's tcp_timer.c for one TcpSocket: what happens when a timer expires
 * (retransmission with RFC 6298 back-off, persist probes of a zero window,
 * keepalive probes, the connect timeout and the end of TIME_WAIT). The timers
 * themselves are ConnectionTimers (timer.ts) on the owner's clock; the RTO
 * comes from the estimator (rtt.ts).
 */
import { ACK } from './segment';
import { seqAdd, seqDiff } from './seq';
import { emit, sendSyn, tcpOutput, transmit } from './tcp-output';
import type { TcpSocket } from './tcp-socket';

export function onRexmtTimer(s: TcpSocket): void {
  if (s.state === 'CLOSED' || s.state === 'TIME_WAIT') return;
  const L = s.owner.limits;
  if (s.state === 'SYN_SENT' || s.state === 'SYN_RECEIVED') {
    if (++s.retransmits > L.maxSynRetransmits) return s.abort(true);
    s.rtt.backoff++;
    sendSyn(s);
    return;
  }
  if (s.persisting) {
    // Zero-window probe: one byte past the closed window; an ACK that takes it moves sndUna on.
    const off = seqDiff(s.sndUna, s.bufSeq);
    if (s.sndWnd === 0 && s.sendBuffer.length - off > 0) {
      transmit(s, s.sndUna, 1, false);
      s.rtt.backoff++;
      s.rexmtTimer.start(s.rtt.rto);
    } else {
      s.persisting = false;
      tcpOutput(s, false);
    }
    return;
  }
  if (s.sndMax === s.sndUna) return;
  if (++s.retransmits > L.maxRetransmits) return s.abort(true);
  s.stats.timeouts++;
  s.cc.onTimeout(s.flightSize, s.mss);
  s.rtt.backoff++;
  s.rttTiming = false;
  s.scoreboard.clear();
  s.sndNxt = s.sndUna;
  s.rexmtTimer.start(s.rtt.rto);
  if (s.sndWnd === 0) {
    // The peer shrank its window under data in flight: probe like persist does.
    transmit(s, s.sndUna, Math.min(1, s.sendBuffer.length - seqDiff(s.sndUna, s.bufSeq)), false);
    return;
  }
  tcpOutput(s, false);
}

/**
 * The keepalive timer is not restarted by every segment (that would read the
 * clock once more per segment): when it fires after traffic, it sleeps again
 * for the rest of the idle time counted from the last segment.
 */
export function onKeepalive(s: TcpSocket): void {
  if (s.state !== 'ESTABLISHED' && s.state !== 'CLOSE_WAIT' && s.state !== 'FIN_WAIT_2') return;
  const L = s.owner.limits;
  const idle = s.owner.clock.now() - s.lastActivity;
  if (s.keepaliveProbesSent === 0 && idle < L.keepaliveIdleMs) {
    s.keepaliveTimer.start(L.keepaliveIdleMs - idle);
    return;
  }
  if (s.keepaliveProbesSent >= L.keepaliveProbes) return s.abort(true);
  s.keepaliveProbesSent++;
  // seq one below sndUna: the peer must answer with an ACK.
  emit(s, seqAdd(s.sndUna, -1), ACK, 0, 0);
  s.keepaliveTimer.start(L.keepaliveIntervalMs);
}

export function onLifeTimer(s: TcpSocket): void {
  if (s.state === 'TIME_WAIT') s.release();
  else if (s.state === 'SYN_RECEIVED' && !s.synSent) s.abort(true);
}
