import { get16, get32, set16, set32 } from './bytes';

/** BOOTP fixed part (RFC 951) up to the options, and the DHCP magic cookie after it. */
export const BOOTP_FIXED_LENGTH = 236;
export const DHCP_OPTIONS_OFFSET = 240;
export const DHCP_MAGIC = 0x63825363;
export const BOOTP_REQUEST = 1;
export const BOOTP_REPLY = 2;

export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const DhcpOption = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  DOMAIN_SEARCH: 119,
  END: 255,
} as const;

/** A view over a BOOTP/DHCP message (the UDP payload). */
export class BootpView {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): BootpView | string {
    if (bytes.length < DHCP_OPTIONS_OFFSET) return 'dhcp-truncated';
    if (get32(bytes, BOOTP_FIXED_LENGTH) !== DHCP_MAGIC) return 'dhcp-bad-cookie';
    return new BootpView(bytes);
  }

  /** Wraps a buffer of at least DHCP_OPTIONS_OFFSET bytes the server fills. */
  static wrap(bytes: Uint8Array): BootpView {
    if (bytes.length < DHCP_OPTIONS_OFFSET) throw new RangeError('buffer too short for DHCP');
    set32(bytes, BOOTP_FIXED_LENGTH, DHCP_MAGIC);
    return new BootpView(bytes);
  }

  get op(): number {
    return this.bytes[0]!;
  }
  set op(v: number) {
    this.bytes[0] = v;
  }
  get htype(): number {
    return this.bytes[1]!;
  }
  set htype(v: number) {
    this.bytes[1] = v;
  }
  get hlen(): number {
    return this.bytes[2]!;
  }
  set hlen(v: number) {
    this.bytes[2] = v;
  }
  get xid(): number {
    return get32(this.bytes, 4);
  }
  set xid(v: number) {
    set32(this.bytes, 4, v);
  }
  get flags(): number {
    return get16(this.bytes, 10);
  }
  set flags(v: number) {
    set16(this.bytes, 10, v);
  }
  get ciaddr(): number {
    return get32(this.bytes, 12);
  }
  set ciaddr(v: number) {
    set32(this.bytes, 12, v);
  }
  get yiaddr(): number {
    return get32(this.bytes, 16);
  }
  set yiaddr(v: number) {
    set32(this.bytes, 16, v);
  }
  get siaddr(): number {
    return get32(this.bytes, 20);
  }
  set siaddr(v: number) {
    set32(this.bytes, 20, v);
  }
  get giaddr(): number {
    return get32(this.bytes, 24);
  }
  set giaddr(v: number) {
    set32(this.bytes, 24, v);
  }
  /** The client hardware address (16 bytes in the header; Ethernet uses the first 6). */
  get chaddr(): Uint8Array {
    return this.bytes.subarray(28, 44);
  }
  /** Server host name field (64 bytes). */
  get sname(): Uint8Array {
    return this.bytes.subarray(44, 108);
  }
  /** Boot file name field (128 bytes). */
  get file(): Uint8Array {
    return this.bytes.subarray(108, 236);
  }
  get options(): Uint8Array {
    return this.bytes.subarray(DHCP_OPTIONS_OFFSET);
  }
}

/**
 * Parses the options area. Every length is checked against the buffer; an option
 * that runs past the end is malformed and the whole message is dropped (a short
 * read there is the classic bootp overread). Repeated options are concatenated
 * (RFC 3396). Time is linear in the message: a first pass only measures, then
 * each repeated option is joined into one buffer sized once (joining at each
 * repeat copied the value so far again every time: a 64 KiB message repeating one
 * option 21,000 times took ~100 ms), and no view is made per repeat (21,000 views
 * alone cost milliseconds). Returns the drop reason or the options by code.
 */
export function parseDhcpOptions(options: Uint8Array): Map<number, Uint8Array> | string {
  const firstAt = new Int32Array(256);
  const total = new Int32Array(256);
  const seen = new Int32Array(256);
  const order: number[] = [];
  let repeats = false;
  let i = 0;
  while (i < options.length) {
    const code = options[i]!;
    if (code === DhcpOption.PAD) {
      i++;
      continue;
    }
    if (code === DhcpOption.END) break;
    if (i + 1 >= options.length) return 'dhcp-bad-option';
    const len = options[i + 1]!;
    const start = i + 2;
    if (start + len > options.length) return 'dhcp-bad-option';
    if (seen[code]++ === 0) {
      firstAt[code] = start;
      order.push(code);
    } else repeats = true;
    total[code] += len;
    i = start + len;
  }
  // Ran to the end of the datagram without an END option: tolerated, as clients pad oddly.
  const stop = i;
  const found = new Map<number, Uint8Array>();
  for (const code of order) {
    found.set(code, seen[code] === 1 ? options.subarray(firstAt[code], firstAt[code]! + total[code]!) : new Uint8Array(total[code]!));
  }
  if (repeats) joinRepeated(options, stop, seen, found);
  return found;
}

/** Second pass of parseDhcpOptions: copies each repeated option's values, in order, into its buffer. */
function joinRepeated(options: Uint8Array, stop: number, seen: Int32Array, found: Map<number, Uint8Array>): void {
  const filled = new Int32Array(256);
  let i = 0;
  while (i < stop) {
    const code = options[i]!;
    if (code === DhcpOption.PAD) {
      i++;
      continue;
    }
    const len = options[i + 1]!;
    const start = i + 2;
    if (seen[code]! > 1) {
      const joined = found.get(code)!;
      let at = filled[code]!;
      for (let k = start; k < start + len; k++) joined[at++] = options[k]!;
      filled[code] = at;
    }
    i = start + len;
  }
}

/** Appends options to a reply buffer, never past its end. */
export class DhcpOptionWriter {
  private offset = 0;

  constructor(private readonly area: Uint8Array) {}

  get length(): number {
    return this.offset;
  }

  /** Writes one option; a value longer than 255 bytes is split into several (RFC 3396). False when it does not fit. */
  put(code: number, value: Uint8Array): boolean {
    const chunks = Math.max(1, Math.ceil(value.length / 255));
    // Room is kept for the END byte.
    if (this.offset + value.length + chunks * 2 + 1 > this.area.length) return false;
    for (let c = 0; c < chunks; c++) {
      const part = value.subarray(c * 255, Math.min(value.length, (c + 1) * 255));
      this.area[this.offset++] = code;
      this.area[this.offset++] = part.length;
      this.area.set(part, this.offset);
      this.offset += part.length;
    }
    return true;
  }

  putByte(code: number, v: number): boolean {
    return this.put(code, Uint8Array.of(v));
  }

  putU16(code: number, v: number): boolean {
    return this.put(code, Uint8Array.of(v >>> 8, v & 0xff));
  }

  putU32(code: number, v: number): boolean {
    const b = new Uint8Array(4);
    set32(b, 0, v);
    return this.put(code, b);
  }

  putText(code: number, text: string): boolean {
    return this.put(code, new TextEncoder().encode(text));
  }

  end(): void {
    if (this.offset < this.area.length) this.area[this.offset++] = DhcpOption.END;
  }
}

/** DISCOVER, OFFER, ... by message type, as Wireshark names them. */
export const DHCP_MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(DhcpMessageType).map(([name, type]) => [type, name]));

/**
 * Offset and length of the first option `code` of the BOOTP message at b[bootp..end),
 * walked in place (the dissector's view: no copy, no concatenation), or undefined.
 */
export function findDhcpOption(b: Uint8Array, bootp: number, end: number, code: number): { off: number; len: number } | undefined {
  let p = bootp + DHCP_OPTIONS_OFFSET;
  while (p < end) {
    const c = b[p]!;
    if (c === DhcpOption.END) return undefined;
    if (c === DhcpOption.PAD) {
      p++;
      continue;
    }
    if (p + 1 >= end) return undefined;
    const len = b[p + 1]!;
    if (p + 2 + len > end) return undefined;
    if (c === code) return { off: p + 2, len };
    p += 2 + len;
  }
  return undefined;
}
