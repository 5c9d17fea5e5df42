/** Every bound of the TCP layer in one place, so memory and work stay predictable. */
export interface TcpLimits {
  /** Live connections (any state but TIME_WAIT counts); excess SYNs get RST. */
  maxConnections: number;
  /** Half-open connections (SYN received, host connect in progress); excess SYNs are dropped. */
  synBacklog: number;
  /** Bytes read from a host socket and not yet acknowledged by the guest; reading pauses above it. */
  sendBufferBytes: number;
  /** Bytes from the guest waiting for the host socket to drain; the advertised window is what is left. */
  recvBufferBytes: number;
  /** Out-of-order segments kept per connection. */
  oooSegments: number;
  /** TIME_WAIT duration (2*MSL). */
  timeWaitMs: number;
  /** Connections in TIME_WAIT at once; the oldest goes first. */
  maxTimeWait: number;
  /**
   * Our MSS: the guest link's MTU - 40 (TcpStack derives it from the slirp's mtu= with
   * mssForMtu). Our SYNs advertise it and it caps the guest's; a segment's payload is
   * that minus its TCP option bytes.
   */
  mss: number;
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  /** Retransmissions of one segment before the connection is reset. */
  maxRetransmits: number;
  /** SYN / SYN-ACK retransmissions before giving up. */
  maxSynRetransmits: number;
  delayedAckMs: number;
  /** How long a host connect() may take before the guest gets RST. */
  connectTimeoutMs: number;
  /** 0 disables keepalive. */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;
  /** Challenge ACKs and RSTs sent per second, for the whole stack (RFC 5961 section 7). */
  challengeAcksPerSecond: number;
  /** Initial congestion window in segments (RFC 6928). */
  initialCwndSegments: number;
  verifyChecksum: boolean;
}

/** The MSS of a link: its MTU less the IPv4 and TCP headers without options. */
export function mssForMtu(mtu: number): number {
  return mtu - 40;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxConnections: 1024,
  synBacklog: 128,
  sendBufferBytes: 256 * 1024,
  recvBufferBytes: 512 * 1024,
  oooSegments: 128,
  timeWaitMs: 10_000,
  maxTimeWait: 256,
  mss: 1460,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  maxRetransmits: 12,
  maxSynRetransmits: 6,
  delayedAckMs: 40,
  connectTimeoutMs: 30_000,
  keepaliveIdleMs: 2 * 3600_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 8,
  challengeAcksPerSecond: 100,
  initialCwndSegments: 10,
  verifyChecksum: true,
};
