/**
 * Names for numbers, as Wireshark's packet details show them: flag bits
 * (`0x40 (DF)`), ICMP types (`8 (Echo (ping) request)`) and the e1000's TX
 * descriptor bits (`0x2b (EOP, IFCS, RS, DEXT)`). The numbers stay what
 * filters compare; only the display gains the names.
 */
import type { FieldValue } from './field-types';

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;

/** `0x2b (EOP, IFCS, RS, DEXT)`; bits without a name are left out of the list, the number keeps them. */
export function formatBits(value: number, digits: number, names: ReadonlyArray<readonly [number, string]>): string {
  const set = names.filter(([mask]) => (value & mask) !== 0).map(([, name]) => name);
  return set.length ? `${hex(value, digits)} (${set.join(', ')})` : hex(value, digits);
}

const IP_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x80, 'RB'], [0x40, 'DF'], [0x20, 'MF']];
export const formatIpFlags = (x: FieldValue) => formatBits(x as number, 2, IP_FLAGS);

const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'Echo (ping) reply', 3: 'Destination unreachable', 4: 'Source quench', 5: 'Redirect', 8: 'Echo (ping) request',
  9: 'Router advertisement', 10: 'Router solicitation', 11: 'Time-to-live exceeded', 12: 'Parameter problem',
  13: 'Timestamp request', 14: 'Timestamp reply',
};
const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: 'Destination Unreachable', 2: 'Packet Too Big', 3: 'Time Exceeded', 4: 'Parameter Problem',
  128: 'Echo (ping) request', 129: 'Echo (ping) reply', 130: 'Multicast Listener Query', 131: 'Multicast Listener Report',
  133: 'Router Solicitation', 134: 'Router Advertisement', 135: 'Neighbor Solicitation', 136: 'Neighbor Advertisement',
  137: 'Redirect', 143: 'Multicast Listener Report Message v2',
};
const named = (table: Readonly<Record<number, string>>) => (x: FieldValue) => {
  const name = table[x as number];
  return name ? `${x} (${name})` : String(x);
};
export const formatIcmpType = named(ICMP_TYPES);
export const formatIcmpv6Type = named(ICMPV6_TYPES);

// ---- e1000 TX descriptors (8254x manual, 3.3.3 legacy, 3.3.6 context, 3.3.7 data) ----

const LEGACY_CMD: ReadonlyArray<readonly [number, string]> = [[0x01, 'EOP'], [0x02, 'IFCS'], [0x04, 'IC'], [0x08, 'RS'], [0x10, 'RPS'], [0x20, 'DEXT'], [0x40, 'VLE'], [0x80, 'IDE']];
const DATA_DCMD: ReadonlyArray<readonly [number, string]> = [[0x01, 'EOP'], [0x02, 'IFCS'], [0x04, 'TSE'], [0x08, 'RS'], [0x10, 'RPS'], [0x20, 'DEXT'], [0x40, 'VLE'], [0x80, 'IDE']];
const CONTEXT_TUCMD: ReadonlyArray<readonly [number, string]> = [[0x01, 'TCP'], [0x02, 'IP'], [0x04, 'TSE'], [0x08, 'RS'], [0x20, 'DEXT'], [0x80, 'IDE']];
const TX_STATUS: ReadonlyArray<readonly [number, string]> = [[0x01, 'DD'], [0x02, 'EC'], [0x04, 'LC'], [0x08, 'TU']];
const POPTS: ReadonlyArray<readonly [number, string]> = [[0x01, 'IXSM'], [0x02, 'TXSM']];

/**
 * A decoded descriptor field (`e1000.cmd`, `e1000.buffer`, ...) for display:
 * the command byte's bits by name for the descriptor's kind, status and
 * POPTS bits by name, guest-physical addresses in hex. Undefined: no name.
 */
export function formatDescriptorField(key: string, value: FieldValue, kind: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  switch (key) {
    case 'cmd':
      return formatBits(value, 2, kind === 'context' ? CONTEXT_TUCMD : kind === 'data' ? DATA_DCMD : LEGACY_CMD);
    case 'tucmd':
      return formatBits(value, 2, CONTEXT_TUCMD);
    case 'status':
      return formatBits(value, 2, TX_STATUS);
    case 'popts':
      return formatBits(value, 2, POPTS);
    case 'buffer':
      return hex(value, value > 0xffffffff ? 16 : 8);
    default:
      return undefined;
  }
}
