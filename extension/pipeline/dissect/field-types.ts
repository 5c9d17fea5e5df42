import type { PacketView } from './packet-view';

/**
 * The kinds of value a field holds, after Wireshark's ftypes. They decide which
 * literals a filter may compare a field with and how a value is displayed.
 */
export type FieldType = 'protocol' | 'uint' | 'bool' | 'ipv4' | 'ipv6' | 'mac' | 'string' | 'bytes' | 'any';

/**
 * uint and ipv4 are numbers, bool a boolean, ipv6/mac/bytes/protocol views
 * into the frame (never copies), string a string. `any` (descriptor fields
 * whose type the NIC decides) may be a number, string or boolean.
 */
export type FieldValue = number | boolean | string | Uint8Array;

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly description: string;
  /** The tree node the field is shown under (eth, ip, tcp, e1000, session, ...). */
  readonly layer: string;
  /** Several values in one packet (ip.addr = src and dst): filters match if any does. */
  readonly multi: boolean;
  /** Single-valued fields: the value or undefined when absent. */
  get(v: PacketView): FieldValue | undefined;
  /** Multi-valued fields: all values (empty when absent). */
  getAll(v: PacketView): FieldValue[];
  /** Kept for filters but left out of the describe() tree (aliases, src-or-dst aggregates). */
  readonly hidden?: boolean;
  /** Display override (hex checksums, flag names); the type's default otherwise. `view` is the packet, for names that depend on more than the value. */
  readonly format?: (value: FieldValue, view?: PacketView) => string;
}

/** What completion and documentation need. */
export interface FieldInfo {
  readonly name: string;
  readonly type: FieldType;
  readonly description: string;
}

export const TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  protocol: 'a protocol',
  uint: 'an unsigned integer',
  bool: 'a boolean',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  mac: 'an Ethernet address',
  string: 'a character string',
  bytes: 'a byte sequence',
  any: 'a descriptor value',
};
