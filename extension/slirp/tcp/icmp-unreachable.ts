/**
 * ICMP destination unreachable (RFC 792) for a guest SYN whose host connect
 * failed with EHOSTUNREACH / ENETUNREACH, as libslirp answers those. The quoted
 * datagram is rebuilt from what we know: an IPv4 header and the first 8 bytes
 * of the TCP header (ports and sequence number, all the guest needs to match it).
 */
export function icmpUnreachable(guestAddr: number, remoteAddr: number, code: number, tcpHead: Uint8Array, tcpLength: number): Uint8Array {
  const quoted = Math.min(8, tcpHead.length);
  const msg = new Uint8Array(8 + 20 + quoted);
  msg[0] = 3;
  msg[1] = code;
  const ip = msg.subarray(8, 28);
  ip[0] = 0x45;
  const total = 20 + tcpLength;
  ip[2] = (total >> 8) & 255;
  ip[3] = total & 255;
  ip[8] = 64;
  ip[9] = 6;
  for (let i = 0; i < 4; i++) {
    ip[12 + i] = (guestAddr >>> (24 - 8 * i)) & 255;
    ip[16 + i] = (remoteAddr >>> (24 - 8 * i)) & 255;
  }
  const ipSum = internetChecksum(ip);
  ip[10] = ipSum >> 8;
  ip[11] = ipSum & 255;
  msg.set(tcpHead.subarray(0, quoted), 28);
  const sum = internetChecksum(msg);
  msg[2] = sum >> 8;
  msg[3] = sum & 255;
  return msg;
}

function internetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export const ICMP_NET_UNREACHABLE = 0;
export const ICMP_HOST_UNREACHABLE = 1;
