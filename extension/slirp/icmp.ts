import { allocateFrame, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { internetChecksum } from '../wire/checksum';
import { IcmpView, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LENGTH } from '../wire/icmp';
import { IPPROTO_ICMP, type Ipv4View } from '../wire/ipv4';
import { set16 } from '../wire/bytes';

/** An ICMP error quotes the offending datagram, keeping the whole error within 576 bytes (RFC 1812). */
const MAX_QUOTE = 576 - 20 - ICMP_HEADER_LENGTH;

/**
 * icmp_input: echo requests to the gateway and the DNS address are answered here.
 * Node has no ICMP socket, so pings to anything else are not forwarded: they are
 * dropped as 'icmp-forward-unsupported' (logged once), and with restrict=on as
 * 'icmp-restricted'.
 */
export class IcmpHandler {
  private warnedForward = false;

  constructor(private readonly core: SlirpCore) {}

  icmp_input(frame: Uint8Array, ip: Ipv4View): void {
    const p = this.core.probes.probes.icmp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.icmp_input(frame, ip))) return;
    const bytes = ip.payload;
    const icmp = IcmpView.of(bytes);
    if (!icmp) return this.core.dropCounter.count('icmp-truncated', undefined, frame);
    if (internetChecksum(bytes) !== 0) return this.core.dropCounter.count('icmp-bad-checksum', undefined, frame);
    if (icmp.type !== ICMP_ECHO_REQUEST) return this.core.dropCounter.count('icmp-unsupported-type', undefined, frame);
    const c = this.core.config;
    const dst = ip.destination;
    if (dst === c.host || dst === c.dns) return this.icmp_reflect(ip);
    if (c.restrict) return this.core.dropCounter.count('icmp-restricted', undefined, frame);
    if (!this.warnedForward) {
      this.warnedForward = true;
      this.core.log('ping to addresses other than the gateway and DNS is not forwarded: Node.js has no ICMP socket');
    }
    this.core.dropCounter.count('icmp-forward-unsupported', undefined, frame);
  }

  /** Answers an echo request with exactly the bytes the guest sent (never more: no host memory leaks out). */
  icmp_reflect(ip: Ipv4View): void {
    const request = ip.payload;
    const out = allocateFrame(request.length);
    const reply = out.subarray(TRANSPORT_OFFSET);
    reply.set(request);
    reply[0] = ICMP_ECHO_REPLY;
    reply[1] = 0;
    set16(reply, 2, 0);
    set16(reply, 2, internetChecksum(reply));
    const src = ip.destination;
    const dst = ip.source;
    const p = this.core.probes.probes.icmp_reflect;
    if (p.enter(out) && p.fire({ stage: p.stage, frame: out }, () => this.core.ip_output(out, src, dst, IPPROTO_ICMP))) return;
    this.core.ip_output(out, src, dst, IPPROTO_ICMP);
  }

  /**
   * icmp_send_error: tells the guest that `original` (an IPv4 datagram it sent,
   * header first) failed. The source is the address the guest talked to, so the
   * guest's stack matches the error to its socket.
   */
  sendError(original: Uint8Array, type: number, code: number, src: number, nextHopMtu = 0): void {
    if (original.length < 20) return;
    // Never answer an error with an error, nor a fragment that is not the first.
    const hl = (original[0]! & 15) * 4;
    if (original[9] === IPPROTO_ICMP && original.length > hl && original[hl] !== ICMP_ECHO_REQUEST) return;
    if (((original[6]! & 0x1f) | original[7]!) !== 0) return;
    const quote = original.subarray(0, Math.min(original.length, MAX_QUOTE));
    const out = allocateFrame(ICMP_HEADER_LENGTH + quote.length);
    const msg = out.subarray(TRANSPORT_OFFSET);
    msg[0] = type;
    msg[1] = code;
    // Fragmentation needed carries the next hop's MTU (RFC 1191); other errors leave the word zero.
    set16(msg, 6, nextHopMtu);
    msg.set(quote, ICMP_HEADER_LENGTH);
    set16(msg, 2, internetChecksum(msg));
    const dst = ((original[12]! << 24) | (original[13]! << 16) | (original[14]! << 8) | original[15]!) >>> 0;
    const p = this.core.probes.probes.icmp_reflect;
    if (p.enter(out) && p.fire({ stage: p.stage, frame: out }, () => this.core.ip_output(out, src, dst, IPPROTO_ICMP))) return;
    this.core.ip_output(out, src, dst, IPPROTO_ICMP);
  }
}
