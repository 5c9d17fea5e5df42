import type { FieldDef, FieldType, FieldValue } from './field-types';
import type { PacketView } from './packet-view';
import { formatDescriptorField } from './value-names';

/**
 * Fields that come from what the pipeline knows of a frame rather than from
 * its bytes: the e1000 descriptor it travelled in and the NAT session of its flow.
 */
type Getter = (v: PacketView) => FieldValue | undefined;
const NONE: FieldValue[] = [];

function ctx(layer: string, name: string, type: FieldType, description: string, get: Getter, format?: FieldDef['format']): FieldDef {
  return {
    name, type, description, layer, multi: false, get, format,
    getAll: (v) => { const x = get(v); return x === undefined ? NONE : [x]; },
  };
}

const hex32 = (x: FieldValue) => `0x${(x as number).toString(16).padStart(8, '0')}`;

/** "10.0.2.15" as a number; undefined for anything else (IPv6 sessions, hostnames). */
export function parseDottedQuad(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

/** Context "protocols" have no bytes of their own: present means an empty view. */
const PRESENT = new Uint8Array(0);

export const CONTEXT_FIELDS: readonly FieldDef[] = [
  ctx('e1000', 'e1000', 'protocol', 'The frame is at a NIC stage with a descriptor or register access', (v) => (v.hit?.descriptor || v.hit?.register ? PRESENT : undefined)),
  ctx('session', 'session', 'protocol', 'The frame belongs to a NAT session', (v) => (v.hit?.session ? PRESENT : undefined)),
  ctx('pipeline', 'pipeline.stage', 'string', 'The stage the frame is at (slirp_input, tcp_input, ...)', (v) => v.hit?.stage),
  ctx('e1000', 'e1000.ring', 'string', 'Descriptor ring ("tx" or "rx")', (v) => v.hit?.descriptor?.ring),
  ctx('e1000', 'e1000.index', 'uint', 'Descriptor index in its ring', (v) => v.hit?.descriptor?.index),
  ctx('e1000', 'e1000.addr', 'uint', 'Guest-physical address of the descriptor', (v) => v.hit?.descriptor?.address, hex32),
  ctx('e1000', 'e1000.reg.offset', 'uint', 'Register offset of an MMIO access', (v) => v.hit?.register?.offset, hex32),
  ctx('e1000', 'e1000.reg.value', 'uint', 'Value of an MMIO access', (v) => v.hit?.register?.value, hex32),
  ctx('e1000', 'e1000.reg.write', 'bool', 'The MMIO access is a write', (v) => v.hit?.register?.write),
  ctx('session', 'session.id', 'uint', 'NAT session id', (v) => v.hit?.session?.id),
  ctx('session', 'session.protocol', 'string', 'Session protocol ("tcp", "udp", "icmp")', (v) => v.hit?.session?.protocol),
  ctx('session', 'session.state', 'string', 'Session state (e.g. "ESTABLISHED")', (v) => v.hit?.session?.state),
  ctx('session', 'session.guest.addr', 'ipv4', 'Guest address of the session', (v) => { const s = v.hit?.session; return s ? parseDottedQuad(s.guestAddr) : undefined; }),
  ctx('session', 'session.guest.port', 'uint', 'Guest port of the session', (v) => v.hit?.session?.guestPort),
  ctx('session', 'session.host.addr', 'ipv4', 'Host-side address of the session', (v) => { const s = v.hit?.session; return s ? parseDottedQuad(s.hostAddr) : undefined; }),
  ctx('session', 'session.host.port', 'uint', 'Host-side port of the session', (v) => v.hit?.session?.hostPort),
];

const DESCRIPTOR_FIELD_NAME = /^e1000\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Any decoded descriptor field is a filter field (`e1000.length`, `e1000.cmd`):
 * the NIC decides which exist, so their type is only known at run time.
 */
export function descriptorField(name: string): FieldDef | undefined {
  const m = DESCRIPTOR_FIELD_NAME.exec(name);
  if (!m) return undefined;
  const key = m[1]!;
  return ctx('e1000', name, 'any', `Descriptor field "${key}" as decoded by the e1000`, (v) => {
    const fields = v.hit?.descriptor?.fields;
    return fields && Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
  }, (x, v) => formatDescriptorField(key, x, v?.hit?.descriptor?.fields.kind) ?? (typeof x === 'boolean' ? (x ? '1' : '0') : String(x)));
}
