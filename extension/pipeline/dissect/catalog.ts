import { formatIpv4, formatMac } from '../../wire/address';
import { formatIpv6 } from '../../wire/ipv6-address';
import { formatBytes } from './bytes';
import { CONTEXT_FIELDS, descriptorField } from './context-fields';
import type { FieldDef, FieldInfo, FieldValue } from './field-types';
import type { PacketView } from './packet-view';
import { FRAME_FIELDS } from './frame-fields';

const ALL: readonly FieldDef[] = [...FRAME_FIELDS, ...CONTEXT_FIELDS];
const BY_NAME = new Map<string, FieldDef>(ALL.map((f) => [f.name, f]));

/** Every field a filter, a logpoint or completion can name. */
export const FIELD_CATALOG: readonly FieldInfo[] = ALL.map(({ name, type, description }) => ({ name, type, description }));

export const FIELD_DEFS: readonly FieldDef[] = ALL;

/** The field of that name, including `e1000.<descriptor field>`; undefined if unknown. */
export function lookupField(name: string): FieldDef | undefined {
  const known = BY_NAME.get(name);
  if (known) return known;
  const dyn = descriptorField(name);
  if (dyn) BY_NAME.set(name, dyn);
  return dyn;
}

/** The text a user sees for a value: dotted IPv4, colon MAC, `1`/`0` for booleans. */
export function formatFieldValue(def: FieldDef, value: FieldValue, view?: PacketView): string {
  if (def.format) return def.format(value, view);
  switch (def.type) {
    case 'ipv4': return formatIpv4(value as number);
    case 'ipv6': return formatIpv6(value as Uint8Array);
    case 'mac': return formatMac(value as Uint8Array);
    case 'bytes': return formatBytes(value as Uint8Array);
    case 'protocol': return `${(value as Uint8Array).length} bytes`;
    case 'bool': return value ? '1' : '0';
    default:
      if (typeof value === 'boolean') return value ? '1' : '0';
      if (value instanceof Uint8Array) return formatBytes(value);
      return String(value);
  }
}
