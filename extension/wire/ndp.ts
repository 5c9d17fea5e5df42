import { get16, get32, set16, set32 } from './bytes';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
} from './icmpv6';

/**
 * Neighbour discovery (RFC 4861) messages as plain values: `parseNdp` reads one
 * from the bytes of an ICMPv6 message (checksum already checked), `emitNdp`
 * writes one back. They are rare (a handful per minute), so a value per message
 * costs nothing and keeps the options readable.
 */

export const NDP_OPT_SOURCE_LINK_LAYER = 1;
export const NDP_OPT_TARGET_LINK_LAYER = 2;
export const NDP_OPT_PREFIX_INFORMATION = 3;
export const NDP_OPT_MTU = 5;
export const NDP_OPT_RDNSS = 25;
/** Options a guest may put in one message before the rest is refused (a bound on the walk). */
export const MAX_NDP_OPTIONS = 32;

export interface NdpPrefixInformation {
  readonly prefixLength: number;
  readonly onLink: boolean;
  readonly autonomous: boolean;
  readonly validLifetime: number;
  readonly preferredLifetime: number;
  readonly prefix: Uint8Array;
}

export interface NdpOptions {
  readonly sourceLinkLayer?: Uint8Array;
  readonly targetLinkLayer?: Uint8Array;
  readonly prefixes?: readonly NdpPrefixInformation[];
  readonly mtu?: number;
  readonly rdnss?: { readonly lifetime: number; readonly servers: readonly Uint8Array[] };
}

export type NdpMessage =
  | ({ readonly type: 'router-solicitation' } & NdpOptions)
  | ({
      readonly type: 'router-advertisement';
      readonly curHopLimit: number;
      readonly managed: boolean;
      readonly otherConfig: boolean;
      /** Seconds this router stays a default router; 0: not a default router. */
      readonly routerLifetime: number;
      readonly reachableTime: number;
      readonly retransTimer: number;
    } & NdpOptions)
  | ({ readonly type: 'neighbor-solicitation'; readonly target: Uint8Array } & NdpOptions)
  | ({
      readonly type: 'neighbor-advertisement';
      readonly router: boolean;
      readonly solicited: boolean;
      readonly override: boolean;
      readonly target: Uint8Array;
    } & NdpOptions)
  | ({ readonly type: 'redirect'; readonly target: Uint8Array; readonly destination: Uint8Array } & NdpOptions);

const TYPES: Record<NdpMessage['type'], { icmp: number; fixed: number }> = {
  'router-solicitation': { icmp: ICMPV6_ROUTER_SOLICITATION, fixed: 8 },
  'router-advertisement': { icmp: ICMPV6_ROUTER_ADVERTISEMENT, fixed: 16 },
  'neighbor-solicitation': { icmp: ICMPV6_NEIGHBOR_SOLICITATION, fixed: 24 },
  'neighbor-advertisement': { icmp: ICMPV6_NEIGHBOR_ADVERTISEMENT, fixed: 24 },
  redirect: { icmp: ICMPV6_REDIRECT, fixed: 40 },
};

export const isNdpType = (icmpType: number): boolean => icmpType >= ICMPV6_ROUTER_SOLICITATION && icmpType <= ICMPV6_REDIRECT;

/** Reads an NDP message from ICMPv6 bytes; returns a drop reason when its code, length or options are bad (RFC 4861 6.1, 7.1). */
export function parseNdp(bytes: Uint8Array): NdpMessage | string {
  const entry = Object.entries(TYPES).find(([, t]) => t.icmp === bytes[0]);
  if (!entry) return 'ndp-not-ndp';
  const [name, { fixed }] = entry as [NdpMessage['type'], { icmp: number; fixed: number }];
  if (bytes[1] !== 0) return 'ndp-bad-code';
  if (bytes.length < fixed) return 'ndp-truncated';
  const options = parseNdpOptions(bytes, fixed);
  if (typeof options === 'string') return options;
  switch (name) {
    case 'router-solicitation':
      return { type: name, ...options };
    case 'router-advertisement':
      return {
        type: name,
        curHopLimit: bytes[4]!,
        managed: (bytes[5]! & 0x80) !== 0,
        otherConfig: (bytes[5]! & 0x40) !== 0,
        routerLifetime: get16(bytes, 6),
        reachableTime: get32(bytes, 8),
        retransTimer: get32(bytes, 12),
        ...options,
      };
    case 'neighbor-solicitation':
      return { type: name, target: bytes.slice(8, 24), ...options };
    case 'neighbor-advertisement':
      return {
        type: name,
        router: (bytes[4]! & 0x80) !== 0,
        solicited: (bytes[4]! & 0x40) !== 0,
        override: (bytes[4]! & 0x20) !== 0,
        target: bytes.slice(8, 24),
        ...options,
      };
    case 'redirect':
      return { type: name, target: bytes.slice(8, 24), destination: bytes.slice(24, 40), ...options };
  }
}

/**
 * The options from bytes[start]: each a type, a length in units of 8 bytes
 * (never 0, RFC 4861 4.6) and a body that must lie inside the message. Unknown
 * options are skipped; known ones with a wrong length make the message bad.
 */
export function parseNdpOptions(bytes: Uint8Array, start: number): NdpOptions | string {
  const out: { -readonly [K in keyof NdpOptions]: NdpOptions[K] } = {};
  const prefixes: NdpPrefixInformation[] = [];
  let count = 0;
  for (let at = start; at < bytes.length; ) {
    if (at + 2 > bytes.length) return 'ndp-bad-option';
    const type = bytes[at]!;
    const length = bytes[at + 1]! * 8;
    if (length === 0 || at + length > bytes.length) return 'ndp-bad-option';
    if (++count > MAX_NDP_OPTIONS) return 'ndp-too-many-options';
    switch (type) {
      case NDP_OPT_SOURCE_LINK_LAYER:
      case NDP_OPT_TARGET_LINK_LAYER:
        // On Ethernet a link-layer option is exactly 8 bytes (RFC 2464 8).
        if (length !== 8) return 'ndp-bad-option';
        out[type === NDP_OPT_SOURCE_LINK_LAYER ? 'sourceLinkLayer' : 'targetLinkLayer'] = bytes.slice(at + 2, at + 8);
        break;
      case NDP_OPT_PREFIX_INFORMATION:
        if (length !== 32 || bytes[at + 2]! > 128) return 'ndp-bad-option';
        prefixes.push({
          prefixLength: bytes[at + 2]!,
          onLink: (bytes[at + 3]! & 0x80) !== 0,
          autonomous: (bytes[at + 3]! & 0x40) !== 0,
          validLifetime: get32(bytes, at + 4),
          preferredLifetime: get32(bytes, at + 8),
          prefix: bytes.slice(at + 16, at + 32),
        });
        break;
      case NDP_OPT_MTU:
        if (length !== 8) return 'ndp-bad-option';
        out.mtu = get32(bytes, at + 4);
        break;
      case NDP_OPT_RDNSS: {
        // RFC 8106 5.1: a lifetime and one or more 16-byte addresses.
        if (length < 24 || (length - 8) % 16 !== 0) return 'ndp-bad-option';
        const servers: Uint8Array[] = [];
        for (let s = at + 8; s < at + length; s += 16) servers.push(bytes.slice(s, s + 16));
        out.rdnss = { lifetime: get32(bytes, at + 4), servers };
        break;
      }
    }
    at += length;
  }
  if (prefixes.length > 0) out.prefixes = prefixes;
  return out;
}

/** The ICMPv6 bytes of an NDP message, checksum left 0 (setIcmpv6Checksum fills it once the addresses are known). */
export function emitNdp(m: NdpMessage): Uint8Array {
  const { icmp, fixed } = TYPES[m.type];
  const opts: Uint8Array[] = [];
  const linkLayer = (type: number, mac: Uint8Array) => {
    const o = new Uint8Array(8);
    o[0] = type;
    o[1] = 1;
    o.set(mac.subarray(0, 6), 2);
    opts.push(o);
  };
  if (m.sourceLinkLayer) linkLayer(NDP_OPT_SOURCE_LINK_LAYER, m.sourceLinkLayer);
  if (m.targetLinkLayer) linkLayer(NDP_OPT_TARGET_LINK_LAYER, m.targetLinkLayer);
  for (const p of m.prefixes ?? []) {
    const o = new Uint8Array(32);
    o[0] = NDP_OPT_PREFIX_INFORMATION;
    o[1] = 4;
    o[2] = p.prefixLength;
    o[3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
    set32(o, 4, p.validLifetime);
    set32(o, 8, p.preferredLifetime);
    o.set(p.prefix.subarray(0, 16), 16);
    opts.push(o);
  }
  if (m.mtu !== undefined) {
    const o = new Uint8Array(8);
    o[0] = NDP_OPT_MTU;
    o[1] = 1;
    set32(o, 4, m.mtu);
    opts.push(o);
  }
  if (m.rdnss) {
    const o = new Uint8Array(8 + 16 * m.rdnss.servers.length);
    o[0] = NDP_OPT_RDNSS;
    o[1] = o.length / 8;
    set32(o, 4, m.rdnss.lifetime);
    m.rdnss.servers.forEach((s, i) => o.set(s.subarray(0, 16), 8 + 16 * i));
    opts.push(o);
  }
  const out = new Uint8Array(fixed + opts.reduce((n, o) => n + o.length, 0));
  out[0] = icmp;
  switch (m.type) {
    case 'router-advertisement':
      out[4] = m.curHopLimit;
      out[5] = (m.managed ? 0x80 : 0) | (m.otherConfig ? 0x40 : 0);
      set16(out, 6, m.routerLifetime);
      set32(out, 8, m.reachableTime);
      set32(out, 12, m.retransTimer);
      break;
    case 'neighbor-solicitation':
      out.set(m.target.subarray(0, 16), 8);
      break;
    case 'neighbor-advertisement':
      out[4] = (m.router ? 0x80 : 0) | (m.solicited ? 0x40 : 0) | (m.override ? 0x20 : 0);
      out.set(m.target.subarray(0, 16), 8);
      break;
    case 'redirect':
      out.set(m.target.subarray(0, 16), 8);
      out.set(m.destination.subarray(0, 16), 24);
      break;
  }
  let at = fixed;
  for (const o of opts) {
    out.set(o, at);
    at += o.length;
  }
  return out;
}
