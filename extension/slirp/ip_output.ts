/**
 * libslirp's ip_output.c: the IPv4 header in front of the transport bytes a
 * layer built at TRANSPORT_OFFSET, and fragmentation to the guest's MTU, then
 * if_output. Also the TCP layer's way in: a payload built with
 * allocateTransport is sent in the frame it was built in, without a copy.
 */
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { IPPROTO_TCP, IPV4_MIN_HEADER, IP_FLAG_MF, writeIpv4HeaderAt } from '../wire/ipv4';
import { ETHERNET_MTU } from './config';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpStages } from './core';
import type { IfOutput } from './if';
import type { NatSession } from './nat';

export class IpOutput {
  private ipId = 0;
  /** The last transport payload handed out by allocateTransport, and the frame it lies in. */
  private builtTransport: Uint8Array | undefined;
  private builtFrame: Uint8Array | undefined;

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

  /** `length` zeroed bytes inside a new frame, remembered so that outputTransport sends that frame as it is. */
  allocateTransport(length: number): Uint8Array {
    const frame = allocateFrame(length);
    this.builtTransport = frame.subarray(TRANSPORT_OFFSET);
    this.builtFrame = frame;
    return this.builtTransport;
  }

  /** ip_output for a transport payload given on its own (the TCP layer's form). */
  outputTransport(src: number, dst: number, protocol: number, payload: Uint8Array): void {
    this.ip_output(this.frameOf(payload), src, dst, protocol);
  }

  /**
   * The frame to send `payload` in: the one it was built in when it came from
   * allocateTransport (the usual case: no copy), else a new one it is copied to
   * (a payload sent later, after a probe held it, or built elsewhere).
   */
  private frameOf(payload: Uint8Array): Uint8Array {
    if (payload === this.builtTransport) {
      const frame = this.builtFrame!;
      this.builtTransport = this.builtFrame = undefined;
      return frame;
    }
    const frame = allocateFrame(payload.length);
    frame.set(payload, TRANSPORT_OFFSET);
    return frame;
  }

  /**
   * The frame a transport payload will be sent to the guest in, headers filled
   * as ip_output and if_output will fill them: what a probe before ip_output shows.
   */
  previewFrame(src: number, dst: number, protocol: number, payload: Uint8Array): Uint8Array {
    if (payload === this.builtTransport) {
      this.stampHeaders(this.builtFrame!, src, dst, protocol);
      return this.builtFrame!;
    }
    const frame = allocateFrame(payload.length);
    frame.set(payload, TRANSPORT_OFFSET);
    this.stampHeaders(frame, src, dst, protocol);
    return frame;
  }

  /**
   * Writes the IPv4 and Ethernet headers ip_output and if_output will write,
   * so that a probe placed before them shows a whole frame. Only called when
   * such a probe is armed; ip_output writes the real ones (and fragments).
   */
  private stampHeaders(frame: Uint8Array, src: number, dst: number, protocol: number): void {
    writeIpv4HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, protocol, frame.length - TRANSPORT_OFFSET, this.ipId);
    this.ifOut.stampEthernet(frame, dst);
  }
}
