import { get16, set16 } from './bytes';

export const ETH_HEADER_LENGTH = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;

/** A view over an Ethernet II header at the start of a frame. */
export class EthernetView {
  private constructor(readonly frame: Uint8Array) {}

  /** Null when the frame cannot hold a header. */
  static of(frame: Uint8Array): EthernetView | null {
    return frame.length >= ETH_HEADER_LENGTH ? new EthernetView(frame) : null;
  }

  /** Wraps a buffer the caller allocated with room for the header. */
  static create(frame: Uint8Array): EthernetView {
    if (frame.length < ETH_HEADER_LENGTH) throw new RangeError('frame too short for an Ethernet header');
    return new EthernetView(frame);
  }

  get destination(): Uint8Array {
    return this.frame.subarray(0, 6);
  }
  get source(): Uint8Array {
    return this.frame.subarray(6, 12);
  }
  get etherType(): number {
    return get16(this.frame, 12);
  }
  set etherType(v: number) {
    set16(this.frame, 12, v);
  }
  get payload(): Uint8Array {
    return this.frame.subarray(ETH_HEADER_LENGTH);
  }
  setDestination(mac: Uint8Array): void {
    this.frame.set(mac.subarray(0, 6), 0);
  }
  setSource(mac: Uint8Array): void {
    this.frame.set(mac.subarray(0, 6), 6);
  }
}
