import { constants as osConstants } from 'node:os';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { EchoFlows } from './icmp-echo';
import type { NatSession } from './nat';
import type { PingSockets } from './ping-socket';
import { formatIpv4 } from '../wire/address';
import { internetChecksum } from '../wire/checksum';
import { IcmpView, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LENGTH, ICMP_UNREACHABLE, ICMP_UNREACH_HOST } from '../wire/icmp';
import { IPPROTO_ICMP, type Ipv4View } from '../wire/ipv4';
import { set16, set32 } from '../wire/bytes';

/** An ICMP error quotes the offending datagram, keeping the whole error within 576 bytes (RFC 1812). */
const MAX_QUOTE = 576 - 20 - ICMP_HEADER_LENGTH;
const ICMP_UNREACH_NET = 0;

const be32 = (a: number): Uint8Array => {
  const b = new Uint8Array(4);
  set32(b, 0, a);
  return b;
};

/**
 * icmp_input: echo requests to the gateway and the DNS address are answered here;
 * others go out through host ping sockets (icmp-echo.ts), their replies come
 * back through icmp_reflect. With restrict=on they are dropped ('icmp-restricted');
 * without a ping socket ('icmp-forward-unsupported', the log says why once).
 */
export class IcmpHandler {
  readonly echo: EchoFlows;

  constructor(
    private readonly core: SlirpCore,
    sockets: PingSockets,
  ) {
    this.echo = new EchoFlows(
      { clock: core.clock, probes: core.probes, nat: core.nat, dropCounter: core.dropCounter, sockets, log: (m) => core.log(m) },
      {
        family: 4,
        reply: (message, session, remote) => this.relayReply(message, session, remote),
        // As libslirp's icmp_send: the gateway found no way on (RFC 1812 4.3.2.4).
        unreachable: (datagram, err) =>
          this.sendError(datagram, ICMP_UNREACHABLE, err === osConstants.errno.EHOSTUNREACH ? ICMP_UNREACH_HOST : ICMP_UNREACH_NET, core.config.host),
        drops: 'icmp',
      },
    );
  }

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
    if (this.core.hostAddressFor(dst) === null) return this.core.dropCounter.count('icmp-no-host-address', undefined, frame);
    const row = { guestAddr: ip.source, remoteAddr: dst, hostPeerAddr: formatIpv4(dst) };
    this.echo.forward({ frame, datagram: ip.datagram, message: bytes, guest: be32(ip.source), remote: be32(dst), row });
  }

  /** icmp_receive: a host's echo reply (the guest's identifier already back), sent on as from the address the guest pinged. */
  private relayReply(message: Uint8Array, session: NatSession, remote: Uint8Array): void {
    const out = allocateFrame(message.length);
    const reply = out.subarray(TRANSPORT_OFFSET);
    reply.set(message);
    set16(reply, 2, 0);
    set16(reply, 2, internetChecksum(reply));
    const src = ((remote[0]! << 24) | (remote[1]! << 16) | (remote[2]! << 8) | remote[3]!) >>> 0;
    this.toGuest(out, src, session.guestAddr, session);
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
    this.toGuest(out, src, dst);
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
    this.toGuest(out, src, dst);
  }

  /** icmp_reflect: an ICMP message of the stack's (an answer, a relayed reply, an error) on its way to ip_output. */
  private toGuest(out: Uint8Array, src: number, dst: number, session?: NatSession): void {
    const p = this.core.probes.probes.icmp_reflect;
    if (p.enter(out) && p.fire({ stage: p.stage, frame: out, session: session && sessionInfo(session) }, () => this.core.ip_output(out, src, dst, IPPROTO_ICMP, session))) return;
    this.core.ip_output(out, src, dst, IPPROTO_ICMP, session);
  }
}
