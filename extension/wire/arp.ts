import { get16, get32, set16, set32 } from './bytes';

export const ARP_LENGTH = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** A view over an Ethernet/IPv4 ARP packet (RFC 826). */
export class ArpView {
  private constructor(readonly bytes: Uint8Array) {}

  /** Null when too short; the format fields are checked by `isEthernetIpv4`. */
  static of(bytes: Uint8Array): ArpView | null {
    return bytes.length >= ARP_LENGTH ? new ArpView(bytes) : null;
  }

  static create(bytes: Uint8Array): ArpView {
    if (bytes.length < ARP_LENGTH) throw new RangeError('buffer too short for ARP');
    const v = new ArpView(bytes);
    set16(bytes, 0, 1);
    set16(bytes, 2, 0x0800);
    bytes[4] = 6;
    bytes[5] = 4;
    return v;
  }

  get hardwareType(): number {
    return get16(this.bytes, 0);
  }
  get protocolType(): number {
    return get16(this.bytes, 2);
  }
  get hardwareLength(): number {
    return this.bytes[4]!;
  }
  get protocolLength(): number {
    return this.bytes[5]!;
  }
  get isEthernetIpv4(): boolean {
    return this.hardwareType === 1 && this.protocolType === 0x0800 && this.hardwareLength === 6 && this.protocolLength === 4;
  }
  get operation(): number {
    return get16(this.bytes, 6);
  }
  set operation(v: number) {
    set16(this.bytes, 6, v);
  }
  get senderMac(): Uint8Array {
    return this.bytes.subarray(8, 14);
  }
  get senderIp(): number {
    return get32(this.bytes, 14);
  }
  set senderIp(v: number) {
    set32(this.bytes, 14, v);
  }
  get targetMac(): Uint8Array {
    return this.bytes.subarray(18, 24);
  }
  get targetIp(): number {
    return get32(this.bytes, 24);
  }
  set targetIp(v: number) {
    set32(this.bytes, 24, v);
  }
  setSenderMac(mac: Uint8Array): void {
    this.bytes.set(mac.subarray(0, 6), 8);
  }
  setTargetMac(mac: Uint8Array): void {
    this.bytes.set(mac.subarray(0, 6), 18);
  }
}
