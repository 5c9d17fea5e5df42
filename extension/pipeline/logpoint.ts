import { formatFieldValue, lookupField } from './dissect/catalog';
import type { FieldDef } from './dissect/field-types';
import { PacketView } from './dissect/packet-view';
import { suggestField } from './filter/suggest';
import type { ProbeHit } from './probe';

/**
 * A logpoint message with `{field}` holes: "{ip.src}:{tcp.srcport} -> {ip.dst}".
 * Parsed once; each hit only reads the named fields. A field the packet lacks
 * prints as "<missing>", several values join with ",". `{{` and `}}` are braces.
 */
export type LogTemplate = (hit: ProbeHit) => string;

export function compileLogMessage(text: string): LogTemplate | string {
  const parts: Array<string | FieldDef> = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((c === '{' || c === '}') && text[i + 1] === c) { literal += c; i++; continue; }
    if (c !== '{') { literal += c; continue; }
    const close = text.indexOf('}', i);
    if (close < 0) return `unclosed '{' at column ${i + 1} of the log message`;
    const name = text.slice(i + 1, close).trim();
    const def = lookupField(name);
    if (!def) {
      const s = suggestField(name);
      return `unknown field '${name}' in the log message at column ${i + 2}${s ? ` (did you mean '${s}'?)` : ''}`;
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push(def);
    i = close;
  }
  if (literal) parts.push(literal);
  return (hit) => {
    const view = new PacketView(hit.frame, hit);
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') { out += p; continue; }
      const values = p.getAll(view);
      out += values.length ? values.map((x) => formatFieldValue(p, x, view)).join(',') : '<missing>';
    }
    return out;
  };
}
