/**
 * libslirp's ip_output.c: the IPv4 header in front of the transport bytes a
 * layer built at TRANSPORT_OFFSET, and fragmentation to the guest's MTU, then
 * if_output. Every layer builds its transport bytes in a frame from
 * allocateFrame (core.ts), with room for the headers written here: a TCP
 * segment is written once, in place, and never copied on its way out.
 */
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { IPPROTO_TCP, IPV4_MIN_HEADER, IP_FLAG_MF, writeIpv4HeaderAt } from '../wire/ipv4';
import { ETHERNET_MTU } from './config';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpStages } from './core';
import type { IfOutput } from './if';
import type { NatSession } from './nat';

export class IpOutput {
  private ipId = 0;

  constructor(
    private readonly s: SlirpStages,
    private readonly ifOut: IfOutput,
  ) {}

  /** ip_output: `frame` holds the transport header and data from TRANSPORT_OFFSET; the IPv4 and Ethernet headers are written here. */
  ip_output(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void {
    if (this.s.closed) return;
    const p = this.s.probes.probes.ip_output;
    if (p.enter(frame)) {
      this.stampHeaders(frame, src, dst, protocol);
      if (p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.s.safely(() => this.fragment(frame, src, dst, protocol, session)))) return;
    }
    this.fragment(frame, src, dst, protocol, session);
  }

  /** Writes the header, in 8-byte aligned fragments when the datagram is larger than the guest takes, and passes each frame to if_output. */
  private fragment(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void {
    const payloadLength = frame.length - TRANSPORT_OFFSET;
    const id = this.ipId++ & 0xffff;
    const mtu = this.largestDatagram(protocol);
    if (IPV4_MIN_HEADER + payloadLength <= mtu) {
      writeIpv4HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, protocol, payloadLength, id);
      return this.ifOut.if_output(frame, dst, session);
    }
    const piece = Math.floor((mtu - IPV4_MIN_HEADER) / 8) * 8;
    for (let off = 0; off < payloadLength; off += piece) {
      const len = Math.min(piece, payloadLength - off);
      const f = allocateFrame(len);
      f.set(frame.subarray(TRANSPORT_OFFSET + off, TRANSPORT_OFFSET + off + len), TRANSPORT_OFFSET);
      const more = off + len < payloadLength;
      writeIpv4HeaderAt(f, ETH_HEADER_LENGTH, src, dst, protocol, len, id, 64, 0, (off / 8) | (more ? IP_FLAG_MF : 0));
      this.ifOut.if_output(f, dst, session);
    }
  }

  /**
   * The largest datagram the guest is sure to take unfragmented. A TCP segment
   * is never larger than the MSS the guest itself announced (from the MTU it
   * really has), so the link MTU bounds it; anything else is cut to what every
   * guest takes, in case the guest ignored the MTU its lease offered.
   */
  private largestDatagram(protocol: number): number {
    return protocol === IPPROTO_TCP ? this.s.config.mtu : Math.min(this.s.config.mtu, ETHERNET_MTU);
  }

  /**
   * Writes the IPv4 and Ethernet headers ip_output and if_output will write,
   * so that a probe placed before them shows a whole frame. Only called when
   * such a probe is armed (here, or tcp_output's); ip_output writes the real
   * ones (and fragments).
   */
  stampHeaders(frame: Uint8Array, src: number, dst: number, protocol: number): void {
    writeIpv4HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, protocol, frame.length - TRANSPORT_OFFSET, this.ipId);
    this.ifOut.stampEthernet(frame, dst);
  }
}
