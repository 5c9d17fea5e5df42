/** `info usernet` as QEMU's monitor prints it: every column under its header, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip4 } from '../../../extension/slirp/config';
import { NatTable, type NatSession } from '../../../extension/slirp/nat';

function session(over: Partial<NatSession>): NatSession {
  return {
    id: 1, protocol: 'tcp', state: 'ESTABLISHED', guestAddr: ip4(10, 0, 2, 15), guestPort: 41000, remoteAddr: ip4(10, 0, 2, 2), remotePort: 8080,
    hostLocalAddr: '127.0.0.1', hostLocalPort: 50000, hostPeerAddr: '127.0.0.1', hostPeerPort: 8080, inbound: false, createdAt: 0, lastActivity: 0,
    recvQ: 0, sendQ: 12, fd: 23, bytesOut: 0, packetsOut: 0, bytesIn: 0, packetsIn: 0, close: () => {},
    ...over,
  };
}

test('rows line up under the header exactly as libslirp prints them (state padded to 19 with its indent)', () => {
  const nat = new NatTable();
  nat.forwards.push({ protocol: 'tcp', hostAddr: '0.0.0.0', hostPort: 2222, guestAddr: ip4(10, 0, 2, 15), guestPort: 22, fd: 9 });
  nat.forwards.push({ protocol: 'udp', hostAddr: '127.0.0.1', hostPort: 5353, guestAddr: ip4(10, 0, 2, 15), guestPort: 53, fd: 10 });
  nat.add(session({}));
  nat.add(session({ id: 2, protocol: 'udp', state: 'ACTIVE', expiresAt: 240_000, fd: -1, sendQ: 0 }));
  const lines = nat.infoUsernet('user.0', 0).split('\n');
  assert.equal(lines[0], 'Hub -1 (user.0):');
  // The text libslirp's slirp_connection_info() writes for the same table ("%s %3d %15s %5d %15s %5d %5d %5d").
  assert.deepEqual(lines.slice(1), [
    '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
    '  TCP[HOST_FORWARD]   9               *  2222       10.0.2.15    22     0     0',
    '  UDP[HOST_FORWARD]  10       127.0.0.1  5353       10.0.2.15    53     0     0',
    '  TCP[ESTABLISHED]   23       10.0.2.15 41000        10.0.2.2  8080     0    12',
    '  UDP[240 sec]       -1       10.0.2.15 41000        10.0.2.2  8080     0     0',
    '',
  ]);
  const header = lines[1]!;
  for (const row of lines.slice(2, -1)) assert.equal(row.length, header.length, `as wide as the header: ${row}`);
});
