import { get16, set16 } from './bytes';

export const ICMP_HEADER_LENGTH = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_HOST = 1;
/** Fragmentation needed and DF set (RFC 792), with the next hop's MTU (RFC 1191). */
export const ICMP_UNREACH_NEEDFRAG = 4;

/** A view over an ICMP message; `bytes` ends where the IP datagram ends. */
export class IcmpView {
  private constructor(readonly bytes: Uint8Array) {}

  static of(bytes: Uint8Array): IcmpView | null {
    return bytes.length >= ICMP_HEADER_LENGTH ? new IcmpView(bytes) : null;
  }

  get type(): number {
    return this.bytes[0]!;
  }
  set type(v: number) {
    this.bytes[0] = v;
  }
  get code(): number {
    return this.bytes[1]!;
  }
  set code(v: number) {
    this.bytes[1] = v;
  }
  get checksum(): number {
    return get16(this.bytes, 2);
  }
  set checksum(v: number) {
    set16(this.bytes, 2, v);
  }
  /** Echo identifier and sequence (meaningful for echo messages only). */
  get identifier(): number {
    return get16(this.bytes, 4);
  }
  get sequence(): number {
    return get16(this.bytes, 6);
  }
}
