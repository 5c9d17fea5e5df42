import type { SlirpConfig } from './config';
import { encodeDomainSearch } from '../wire/dns';
import {
  DHCPV6_INFORMATION_REQUEST,
  DHCPV6_OPT_BOOTFILE_URL,
  DHCPV6_OPT_CLIENTID,
  DHCPV6_OPT_DNS_SERVERS,
  DHCPV6_OPT_DOMAIN_LIST,
  DHCPV6_OPT_IA_NA,
  DHCPV6_OPT_IA_PD,
  DHCPV6_OPT_IA_TA,
  DHCPV6_OPT_IAADDR,
  DHCPV6_OPT_ORO,
  DHCPV6_REPLY,
  emitDhcpv6,
  parseDhcpv6,
} from '../wire/dhcpv6';
import { formatIpv6 } from '../wire/ipv6-address';

/** libslirp refuses longer client ids ("could cause problems later"); RFC 8415 11.1 caps a DUID at 130 bytes anyway. */
const MAX_CLIENT_ID = 256;

/**
 * dhcpv6_input: the stateless server of libslirp's dhcpv6.c. An
 * Information-Request is answered with a Reply carrying the client's id and
 * what it asked for in its option request: the DNS server (fec0::3), the search
 * list (dnssearch=, which libslirp leaves out) and the boot file URL (tftp to
 * the gateway). Addresses come from SLAAC, so a request naming an identity
 * association is refused (RFC 8415 18.2.6) and every other message type is
 * ignored. Returns the reply, null to stay silent, or a drop reason.
 */
export function dhcpv6Reply(request: Uint8Array, config: SlirpConfig, host: Uint8Array, dns: Uint8Array): Uint8Array | string | null {
  const m = parseDhcpv6(request);
  if (typeof m === 'string') return m;
  if (m.type !== DHCPV6_INFORMATION_REQUEST) return 'dhcpv6-unsupported-type';
  const options: { code: number; data: Uint8Array }[] = [];
  const wanted = new Set<number>();
  for (const o of m.options) {
    if (o.code === DHCPV6_OPT_IA_NA || o.code === DHCPV6_OPT_IA_TA || o.code === DHCPV6_OPT_IA_PD || o.code === DHCPV6_OPT_IAADDR) return 'dhcpv6-stateful-request';
    if (o.code === DHCPV6_OPT_CLIENTID) {
      if (o.data.length > MAX_CLIENT_ID) return 'dhcpv6-bad-client-id';
      options.push(o);
    }
    if (o.code === DHCPV6_OPT_ORO) {
      if (o.data.length % 2 !== 0) return 'dhcpv6-bad-option';
      for (let i = 0; i < o.data.length; i += 2) wanted.add((o.data[i]! << 8) | o.data[i + 1]!);
    }
  }
  if (wanted.has(DHCPV6_OPT_DNS_SERVERS)) options.push({ code: DHCPV6_OPT_DNS_SERVERS, data: dns.slice(0, 16) });
  if (wanted.has(DHCPV6_OPT_DOMAIN_LIST) && config.dnsSearch.length > 0) options.push({ code: DHCPV6_OPT_DOMAIN_LIST, data: encodeDomainSearch(config.dnsSearch) });
  if (wanted.has(DHCPV6_OPT_BOOTFILE_URL) && config.bootFile) {
    options.push({ code: DHCPV6_OPT_BOOTFILE_URL, data: new TextEncoder().encode(`tftp://[${formatIpv6(host)}]/${config.bootFile}`) });
  }
  return emitDhcpv6({ type: DHCPV6_REPLY, transactionId: m.transactionId, options });
}
