import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { HostForward, SlirpConfig } from './config';
import type { NatTable } from './nat';

/** What the TCP layer needs from the rest of the slirp stack. */
export interface TcpHost {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly nat: NatTable;
  /** Bytes a frame from allocateFrame keeps before its transport header: room for the Ethernet and IP headers. */
  readonly headroom: number;
  /** A zeroed frame: `headroom` bytes, then `transportLength` bytes for the transport header and data. */
  allocateFrame(transportLength: number): Uint8Array;
  /**
   * Sends a frame from allocateFrame, its transport bytes written, to the guest
   * (ip_output -> if_output -> the net queue): the IP and Ethernet headers are
   * written in front, in place.
   */
  ipOutput(src: number, dst: number, protocol: number, frame: Uint8Array): void;
  /**
   * The host address a guest destination reaches: 10.0.2.2 -> '127.0.0.1' unless
   * host loopback is disabled; null when `restrict=on` or the address is not
   * reachable (the caller answers with RST as libslirp does).
   */
  hostAddressFor(guestDst: number): string | null;
  /** The guest's address for inbound forwards (the DHCP lease, else dhcpstart). */
  guestAddress(): number;
  /**
   * Writes the headers ipOutput will write into a frame from allocateFrame,
   * only for an armed tcp_output probe, so that breakpoint conditions and the
   * debugger see whole headers (eth, ip, tcp). Optional.
   */
  stampHeaders?(src: number, dst: number, protocol: number, frame: Uint8Array): void;
  /**
   * For a TCP layer over IPv6 (tcp6.ts), where addresses are numeric handles:
   * the text of the address a handle stands for, shown in the NAT table.
   */
  addressText?(addr: number): string;
}

/** The TCP layer as the slirp core sees it. */
export interface TcpLayer {
  /**
   * tcp_input: `segment` is the TCP header and payload of an IPv4 datagram from
   * the guest; `frame`, the Ethernet frame it came in (for probes), when there
   * is one (a reassembled datagram has none).
   */
  input(src: number, dst: number, segment: Uint8Array, frame?: Uint8Array): void;
  /** Stop reading host sockets (the VM is paused); resume() restarts them. */
  pause(): void;
  resume(): void;
  addHostForward(rule: HostForward): Promise<void>;
  removeHostForward(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean;
  close(): void;
}
