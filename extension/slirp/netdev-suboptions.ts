/**
 * The suboptions of `-netdev user` (QEMU 7.2's qemu-options.hx, plus dns-upstream,
 * disable-host-loopback and mtu of our own), with what each does: the netdev
 * parser accepts exactly these, and the profile's completion and hover show them.
 */
export interface NetdevSuboption {
  readonly name: string;
  /** The value's form, as QEMU's help writes it. */
  readonly value: string;
  readonly summary: string;
}

export const NETDEV_USER_SUBOPTIONS: readonly NetdevSuboption[] = [
  { name: 'id', value: 'str', summary: 'The backend name a `-device ...,netdev=` refers to.' },
  { name: 'ipv4', value: 'on|off', summary: 'Enable IPv4 (on unless only ipv6 is named).' },
  { name: 'ipv6', value: 'on|off', summary: 'Enable IPv6 (on unless only ipv4 is named).' },
  { name: 'net', value: 'addr[/mask]', summary: 'The guest network, default 10.0.2.0/24.' },
  { name: 'host', value: 'addr', summary: 'The gateway and DHCP server address, default 10.0.2.2 (reaches the host\'s loopback).' },
  { name: 'restrict', value: 'on|off', summary: 'Isolate the guest: no outbound connections, only hostfwd/guestfwd.' },
  { name: 'hostname', value: 'name', summary: 'The host name the DHCP server hands out.' },
  { name: 'dhcpstart', value: 'addr', summary: 'First of the 16 DHCP addresses, default 10.0.2.15; must be inside net.' },
  { name: 'dns', value: 'addr', summary: 'The virtual DNS server address, default 10.0.2.3; must be inside net.' },
  { name: 'dnssearch', value: 'domain', summary: 'A DNS search domain for DHCP (may repeat).' },
  { name: 'domainname', value: 'domain', summary: 'The DNS domain the DHCP server hands out.' },
  { name: 'ipv6-net', value: 'addr[/int]', summary: 'The IPv6 prefix, default fec0::/64.' },
  { name: 'ipv6-prefix', value: 'addr', summary: 'The IPv6 prefix address (see ipv6-net).' },
  { name: 'ipv6-prefixlen', value: 'int', summary: 'The IPv6 prefix length (see ipv6-net).' },
  { name: 'ipv6-host', value: 'addr', summary: 'The IPv6 gateway address, default ::2 in the prefix.' },
  { name: 'ipv6-dns', value: 'addr', summary: 'The IPv6 DNS address, default ::3 in the prefix.' },
  { name: 'tftp', value: 'dir', summary: 'Serve this host directory over TFTP.' },
  { name: 'tftp-server-name', value: 'name', summary: 'The TFTP server name in DHCP replies (option 66).' },
  { name: 'bootfile', value: 'file', summary: 'The BOOTP file name (network boot with tftp=).' },
  { name: 'smb', value: 'dir', summary: 'Share a host directory over SMB (needs smbd on the host).' },
  { name: 'smbserver', value: 'addr', summary: 'The SMB server address, default 10.0.2.4.' },
  { name: 'ip', value: 'addr[/mask]', summary: 'Old name of net=.' },
  { name: 'dns-upstream', value: 'addr[:port]', summary: 'Usernet: the resolver 10.0.2.3 forwards to (default: the first nameserver of /etc/resolv.conf).' },
  { name: 'disable-host-loopback', value: 'on|off', summary: 'Usernet: stop 10.0.2.2 from reaching the host\'s 127.0.0.1 (libslirp\'s disable_host_loopback).' },
  { name: 'mtu', value: '576-65520', summary: 'Usernet: the guest link\'s MTU, offered by DHCP unless 1500 (default 1500, libslirp\'s lease; 9000, a jumbo link, for the bundled guest). A guest that keeps 1500 still works.' },
  { name: 'hostfwd', value: '[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport', summary: 'Forward a host port to the guest (the only way in). May repeat.' },
  { name: 'guestfwd', value: '[tcp]:server:port-cmd:command|tcp:host:port', summary: 'Forward guest connections to server:port to a host command or TCP endpoint. May repeat.' },
];

export const NETDEV_USER_SUBOPTION_NAMES: readonly string[] = NETDEV_USER_SUBOPTIONS.map((s) => s.name);
