import type { ProbeHit } from '../probe';
import { formatFieldValue, FIELD_DEFS } from './catalog';
import { descriptorField } from './context-fields';
import type { FieldDef } from './field-types';
import { PacketView } from './packet-view';

/**
 * A packet as a debugger shows a variable: layer -> field name -> display text.
 * Layers and fields keep the order they have in the frame.
 */
export type DissectedTree = Record<string, Record<string, string>>;

const LAYER_TITLES: Readonly<Record<string, string>> = {
  frame: 'frame', eth: 'eth', vlan: 'vlan', arp: 'arp', ip: 'ip', ipv6: 'ipv6', icmp: 'icmp', icmpv6: 'icmpv6',
  udp: 'udp', tcp: 'tcp', dhcp: 'dhcp', dns: 'dns', pipeline: 'pipeline', e1000: 'e1000', session: 'session',
};

function addFields(tree: DissectedTree, view: PacketView, defs: readonly FieldDef[]): void {
  for (const def of defs) {
    // Protocol rows only say the layer is there; its fields carry the content.
    if (def.type === 'protocol' || def.hidden) continue;
    const values = def.getAll(view);
    if (values.length === 0) continue;
    const layer = (tree[LAYER_TITLES[def.layer] ?? def.layer] ??= {});
    layer[def.name] = values.map((x) => formatFieldValue(def, x, view)).join(', ');
  }
}

/** Every field present in the frame, grouped by layer. */
export function describe(frame: Uint8Array): DissectedTree {
  const tree: DissectedTree = {};
  addFields(tree, new PacketView(frame), FIELD_DEFS.filter((d) => !isContextLayer(d.layer)));
  return tree;
}

/** The frame's layers plus what the pipeline knows: stage, e1000 descriptor, NAT session. */
export function describeHit(hit: ProbeHit): DissectedTree {
  const tree: DissectedTree = {};
  const view = new PacketView(hit.frame, hit);
  addFields(tree, view, FIELD_DEFS);
  const fields = hit.descriptor?.fields;
  if (fields) {
    for (const key of Object.keys(fields)) {
      const def = descriptorField(`e1000.${key}`);
      if (def) addFields(tree, view, [def]);
    }
  }
  return tree;
}

function isContextLayer(layer: string): boolean {
  return layer === 'pipeline' || layer === 'e1000' || layer === 'session';
}
