/**
 * The 'usernet.topology' event's body: the guest network as the VM's slirp is
 * configured (net, gateway, DNS, IPv6, guestfwd) and the guest link's
 * counters. The NAT table, drops and conditions reach the topology view with
 * their own events; this carries only what they do not.
 */
import type { EngineKind } from '../pipeline/stages';
import { formatIpv4, formatMac } from '../wire/address';
import type { RuntimeSlirp } from './machine-port';
import type { TopologyBody } from './feed-bodies';

export function topologyBody(slirp: RuntimeSlirp | undefined, engine: EngineKind): TopologyBody | undefined {
  const c = slirp?.settings;
  if (!slirp || !c) return undefined;
  const link = slirp.link;
  const mac = slirp.guestMac;
  return {
    engine,
    ...(mac ? { guestMac: formatMac(mac) } : {}),
    mtu: c.mtu,
    net: `${formatIpv4(c.net)}/${c.prefixLength}`,
    gateway: formatIpv4(c.host),
    dns: formatIpv4(c.dns),
    ...(c.ipv6 ? { ipv6: { prefix: `${c.ipv6Net}/${c.ipv6PrefixLength}`, gateway: c.ipv6Host, dns: c.ipv6Dns } } : {}),
    restrict: c.restrict,
    hostLoopback: !c.disableHostLoopback,
    guestForwards: c.guestForwards.map((f) => ({
      server: `${formatIpv4(f.serverAddr)}:${f.serverPort}`,
      target: f.target.kind === 'tcp' ? `${f.target.host}:${f.target.port}` : `cmd:${f.target.command}`,
    })),
    link: {
      framesToHost: link?.framesIn ?? 0,
      bytesToHost: link?.bytesIn ?? 0,
      framesToGuest: link?.framesOut ?? 0,
      bytesToGuest: link?.bytesOut ?? 0,
    },
  };
}
