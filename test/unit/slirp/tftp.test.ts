import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_IP, guestUdp, HOST_IP, u16 } from './helpers/frames';
import { ipOf, makeGuest, udpOf, type Guest } from './helpers/harness';

const RRQ = 1;
const WRQ = 2;
const DATA = 3;
const ACK = 4;
const ERROR = 5;
const OACK = 6;

/** A TFTP packet as the guest receives it, read independently of the server's code. */
interface Got {
  readonly srcPort: number;
  readonly op: number;
  /** DATA/ACK: the block number; ERROR: the error code. */
  readonly num: number;
  /** DATA: the data; ERROR/OACK: the rest after the op (and code). */
  readonly body: Buffer;
}

const cstrings = (...parts: string[]) => parts.flatMap((p) => [...Buffer.from(p, 'latin1'), 0]);
const rrq = (name: string, mode = 'octet', ...options: string[]) => [...u16(RRQ), ...cstrings(name, mode, ...options)];
const ack = (block: number) => [...u16(ACK), ...u16(block)];

function fixture(): { root: string; outside: string; done: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'usernet-tftp-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'TOP-SECRET');
  return { root, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

function guest(root: string | undefined, config = {}): Guest {
  return makeGuest({ tftpRoot: root, ...config });
}

function send(g: Guest, clientPort: number, serverPort: number, payload: ArrayLike<number>): void {
  g.slirp.input(guestUdp(HOST_IP, clientPort, serverPort, payload));
}

const toClient = (clientPort: number) => (f: Uint8Array) => {
  if (f.length < 42 || f[12] !== 8 || f[13] !== 0 || f[23] !== 17) return false;
  return ((f[36]! << 8) | f[37]!) === clientPort;
};

/** Waits for the next packet to the client port, and consumes it. */
async function take(g: Guest, clientPort: number, ms = 2000): Promise<Got> {
  const f = await g.waitFor(toClient(clientPort), ms);
  g.out.splice(g.out.indexOf(f), 1);
  assert.equal(ipOf(f).source, HOST_IP, 'TFTP answers from 10.0.2.2');
  assert.equal(ipOf(f).destination, GUEST_IP);
  const u = udpOf(f);
  const p = Buffer.from(u.payload);
  const op = p.readUInt16BE(0);
  const hasNum = op === DATA || op === ACK || op === ERROR;
  return { srcPort: u.sourcePort, op, num: hasNum ? p.readUInt16BE(2) : 0, body: p.subarray(hasNum ? 4 : 2) };
}

const settle = () => new Promise((r) => setTimeout(r, 60));
const pending = (g: Guest, clientPort: number) => g.out.filter(toClient(clientPort)).length;

/** Reads a whole file by ACKing each block; returns the bytes and the transfer port. */
async function download(g: Guest, clientPort: number, first: Got): Promise<{ data: Buffer; blocks: number }> {
  const parts: Buffer[] = [];
  let got = first;
  let blocks = 0;
  for (;;) {
    assert.equal(got.op, DATA, `expected DATA, got op ${got.op} ${got.body.toString()}`);
    assert.equal(got.num, (blocks + 1) & 0xffff);
    parts.push(got.body);
    blocks++;
    send(g, clientPort, got.srcPort, ack(got.num));
    if (got.body.length < 512) break;
    got = await take(g, clientPort);
  }
  return { data: Buffer.concat(parts), blocks };
}

test('RRQ octet: blocks of 512 from a per-transfer port of 10.0.2.2, ending with a short block', async () => {
  const fx = fixture();
  const content = Buffer.from(Array.from({ length: 1300 }, (_, i) => (i * 7) & 255));
  writeFileSync(join(fx.root, 'sub', 'kernel'), content);
  const g = guest(fx.root);
  try {
    send(g, 2000, 69, rrq('sub/kernel'));
    const first = await take(g, 2000);
    assert.notEqual(first.srcPort, 69, 'RFC 1350: the transfer has its own port');
    const { data, blocks } = await download(g, 2000, first);
    assert.equal(blocks, 3);
    assert.deepEqual(data, content);
    await settle();
    assert.equal(g.slirp.nat.size, 0, 'nothing went to the host');
    assert.equal(pending(g, 2000), 0);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('a file of exactly n blocks ends with an empty block; the transfer then ends and its port is not forwarded', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'two'), Buffer.alloc(1024, 0x41));
  const g = guest(fx.root);
  try {
    send(g, 2001, 69, rrq('two'));
    const first = await take(g, 2001);
    const { data, blocks } = await download(g, 2001, first);
    assert.equal(blocks, 3);
    assert.equal(data.length, 1024);
    await settle();
    // A late packet to the finished transfer's port stays inside the stack.
    send(g, 2001, first.srcPort, ack(3));
    assert.equal(g.slirp.drops['tftp-ended-transfer'], 1);
    assert.equal(g.slirp.nat.size, 0);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('options: blksize capped at 1428, tsize gives the size, timeout accepted; OACK first, then DATA after ACK 0', async () => {
  const fx = fixture();
  const content = Buffer.alloc(3000, 0x5a);
  writeFileSync(join(fx.root, 'big'), content);
  const g = guest(fx.root);
  try {
    send(g, 2002, 69, rrq('big', 'OCTET', 'blksize', '1468', 'tsize', '0', 'timeout', '3', 'x-unknown', '1'));
    const oack = await take(g, 2002);
    assert.equal(oack.op, OACK);
    assert.deepEqual(oack.body.toString('latin1').split('\0'), ['blksize', '1428', 'tsize', '3000', 'timeout', '3', '']);
    send(g, 2002, oack.srcPort, ack(0));
    const d1 = await take(g, 2002);
    assert.equal(d1.op, DATA);
    assert.equal(d1.num, 1);
    assert.equal(d1.body.length, 1428);
    assert.equal(d1.srcPort, oack.srcPort);
    // The negotiated timeout paces retransmission: nothing at 1 s, the same block at 3 s.
    g.clock.advance(1000);
    await settle();
    assert.equal(pending(g, 2002), 0);
    g.clock.advance(2000);
    const again = await take(g, 2002);
    assert.deepEqual([again.op, again.num, again.body.length], [DATA, 1, 1428]);
    // A blksize under RFC 2348's minimum is ignored: no OACK, 512-byte blocks.
    send(g, 2003, 69, rrq('big', 'octet', 'blksize', '4'));
    const plain = await take(g, 2003);
    assert.deepEqual([plain.op, plain.num, plain.body.length], [DATA, 1, 512]);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('lost packets are retransmitted on the virtual clock; duplicate ACKs are ignored; a silent client is dropped', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'f'), Buffer.alloc(2000, 1));
  const g = guest(fx.root);
  try {
    send(g, 2004, 69, rrq('f'));
    const d1 = await take(g, 2004);
    g.clock.advance(999);
    await settle();
    assert.equal(pending(g, 2004), 0, 'no retransmission before the timeout');
    g.clock.advance(1);
    const r1 = await take(g, 2004);
    assert.deepEqual([r1.op, r1.num, r1.srcPort], [DATA, 1, d1.srcPort]);
    send(g, 2004, d1.srcPort, ack(1));
    const d2 = await take(g, 2004);
    assert.equal(d2.num, 2);
    // The old ACK again (the client's own retransmission): no Sorcerer's Apprentice.
    send(g, 2004, d1.srcPort, ack(1));
    await settle();
    assert.equal(pending(g, 2004), 0);
    assert.equal(g.slirp.drops['tftp-duplicate-ack'], 1);
    // Five retransmissions, then the transfer is abandoned.
    for (let i = 0; i < 5; i++) {
      g.clock.advance(1000);
      assert.equal((await take(g, 2004)).num, 2);
    }
    g.clock.advance(1000);
    await settle();
    assert.equal(pending(g, 2004), 0);
    assert.equal(g.slirp.drops['tftp-timeout'], 1);
    send(g, 2004, d1.srcPort, ack(2));
    assert.equal(g.slirp.drops['tftp-ended-transfer'], 1);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('netascii: LF becomes CR LF, CR becomes CR NUL, also across a block boundary', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'text'), 'abcdefg\nx\ry\nz');
  const g = guest(fx.root);
  try {
    send(g, 2005, 69, rrq('text', 'netascii', 'blksize', '8', 'tsize', '0'));
    const oack = await take(g, 2005);
    assert.deepEqual(oack.body.toString('latin1').split('\0'), ['blksize', '8', ''], 'no tsize in netascii');
    send(g, 2005, oack.srcPort, ack(0));
    const blocks: Buffer[] = [];
    for (let n = 1; ; n++) {
      const d = await take(g, 2005);
      assert.deepEqual([d.op, d.num], [DATA, n]);
      blocks.push(d.body);
      send(g, 2005, oack.srcPort, ack(n));
      if (d.body.length < 8) break;
    }
    assert.deepEqual(blocks.map((b) => b.length), [8, 8, 0]);
    assert.equal(Buffer.concat(blocks).toString('latin1'), 'abcdefg\r\nx\r\0y\r\nz', 'the LF after the first block\'s CR went into the second');
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('errors: a missing file, a directory, an unknown mode, a write request', async () => {
  const fx = fixture();
  const g = guest(fx.root);
  try {
    send(g, 2006, 69, rrq('nope'));
    const missing = await take(g, 2006);
    assert.deepEqual([missing.op, missing.num], [ERROR, 1]);
    assert.equal(missing.body.toString('latin1'), 'File not found\0');
    send(g, 2007, 69, rrq('sub'));
    const directory = await take(g, 2007);
    assert.deepEqual([directory.op, directory.num], [ERROR, 1]);
    send(g, 2008, 69, rrq('x', 'mail'));
    const mode = await take(g, 2008);
    assert.deepEqual([mode.op, mode.num, mode.srcPort], [ERROR, 4, 69]);
    send(g, 2009, 69, [...u16(WRQ), ...cstrings('upload', 'octet')]);
    const write = await take(g, 2009);
    assert.deepEqual([write.op, write.num], [ERROR, 2]);
    assert.equal(g.slirp.drops['tftp-write-refused'], 1);
    // Short and unterminated requests: no reading past the datagram.
    send(g, 2010, 69, [0]);
    assert.equal(g.slirp.drops['tftp-truncated'], 1);
    send(g, 2011, 69, [...u16(RRQ), 0x61, 0x62]);
    assert.deepEqual([(await take(g, 2011)).op], [ERROR]);
    send(g, 2012, 69, [...u16(RRQ), ...cstrings('a', 'octet'), 0x62]);
    assert.deepEqual([(await take(g, 2012)).num], [2]);
    assert.equal(g.slirp.tftpSessions, 0);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('TFTP cannot leave its root: .., absolute names, a symlink out, long names and control characters are refused', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'ok'), 'fine');
  symlinkSync(join(fx.outside, 'secret'), join(fx.root, 'escape'));
  symlinkSync(fx.outside, join(fx.root, 'sub', 'dir-out'));
  symlinkSync(join(fx.root, 'ok'), join(fx.root, 'inner-link'));
  const g = guest(fx.root);
  const attempts = [
    '../outside/secret',
    '../etc/passwd',
    '/etc/passwd',
    `${fx.outside}/secret`,
    'a/../../x',
    'sub/../ok',
    'escape',
    'sub/dir-out/secret',
    'x'.repeat(600),
    'o\u0001k',
    'sub\\..\\..\\outside\\secret',
    'C:/Windows/win.ini',
    'sub/',
    '',
  ];
  try {
    let port = 3000;
    for (const name of attempts) {
      send(g, port, 69, rrq(name));
      const got = await take(g, port);
      assert.deepEqual([got.op, got.num], [ERROR, 2], `refused: ${JSON.stringify(name.slice(0, 40))}`);
      port++;
    }
    assert.equal(g.slirp.drops['tftp-outside-root'], 2, 'the two symlinks were caught by the real-path check');
    assert.ok(!g.out.some((f) => Buffer.from(f).includes('TOP-SECRET')));
    // A link that stays inside the root is served.
    send(g, port, 69, rrq('inner-link'));
    const inner = await take(g, port);
    assert.deepEqual([inner.op, inner.body.toString()], [DATA, 'fine']);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('at most 20 transfers at once; the 21st request is dropped until one ends', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'f'), Buffer.alloc(600, 2));
  const g = guest(fx.root);
  try {
    const firsts: Got[] = [];
    for (let i = 0; i < 20; i++) send(g, 4000 + i, 69, rrq('f'));
    for (let i = 0; i < 20; i++) firsts.push(await take(g, 4000 + i));
    assert.equal(new Set(firsts.map((f) => f.srcPort)).size, 20, 'each transfer has its own port');
    send(g, 4020, 69, rrq('f'));
    await settle();
    assert.equal(pending(g, 4020), 0);
    assert.equal(g.slirp.drops['tftp-sessions-full'], 1);
    // The client gives up on one transfer with an ERROR: its session is freed.
    send(g, 4000, firsts[0]!.srcPort, [...u16(ERROR), ...u16(0), ...cstrings('cancelled')]);
    send(g, 4020, 69, rrq('f'));
    assert.equal((await take(g, 4020)).op, DATA);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('without tftp= a read request gets "Access violation" from port 69 (as libslirp) and nothing reaches the host', async () => {
  const g = guest(undefined);
  try {
    send(g, 2020, 69, rrq('pxelinux.0'));
    const got = await take(g, 2020);
    assert.deepEqual([got.op, got.num, got.srcPort], [ERROR, 2, 69]);
    assert.equal(got.body.toString('latin1'), 'Access violation\0');
    send(g, 2020, 69, ack(1));
    assert.equal(g.slirp.drops['tftp-unsupported'], 2);
    assert.equal(g.slirp.nat.size, 0);
  } finally {
    await g.slirp.close();
  }
});

test('the tftp_input probe sees each request and can hold it; while paused nothing is sent, then it is', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'f'), 'hello');
  const g = guest(fx.root);
  try {
    const seen: number[] = [];
    const stop = g.probes.probes.tftp_input.listen((hit) => {
      seen.push(hit.frame.length);
      return seen.length === 1 ? 'hold' : undefined;
    });
    send(g, 2030, 69, rrq('f'));
    await settle();
    assert.equal(seen.length, 1);
    assert.equal(pending(g, 2030), 0, 'held at tftp_input');
    g.slirp.pause();
    g.probes.releaseAll();
    await settle();
    assert.equal(pending(g, 2030), 0, 'the block is ready but the VM is paused');
    g.slirp.resume();
    const d = await take(g, 2030);
    assert.deepEqual([d.op, d.body.toString()], [DATA, 'hello']);
    send(g, 2030, d.srcPort, ack(1));
    assert.equal(seen.length, 2);
    stop();
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('a repeated request before the first answer is acknowledged is answered again, not doubled', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'f'), Buffer.alloc(700, 3));
  const g = guest(fx.root);
  try {
    send(g, 2040, 69, rrq('f'));
    const d1 = await take(g, 2040);
    send(g, 2040, 69, rrq('f'));
    const again = await take(g, 2040);
    assert.deepEqual([again.op, again.num, again.srcPort], [DATA, 1, d1.srcPort]);
    assert.equal(g.slirp.tftpSessions, 1);
    // ACKs sent to port 69 (as libslirp's clients do) also reach the transfer.
    send(g, 2040, 69, ack(1));
    assert.equal((await take(g, 2040)).num, 2);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('mutated requests and acknowledgements: nothing throws, replies stay well formed, sessions stay bounded', async () => {
  const fx = fixture();
  writeFileSync(join(fx.root, 'f'), Buffer.alloc(5000, 7));
  writeFileSync(join(fx.root, 'sub', 'g'), 'g\n'.repeat(300));
  // Packets to ports no transfer owns would go to host loopback: keep them inside.
  // IPv6 off: the clock jumps would otherwise let a periodic Router Advertisement
  // (its interval is random) into the frames this test reads as TFTP replies.
  const g = guest(fx.root, { disableHostLoopback: true, ipv6: false });
  const transferPorts: number[] = [];
  let seed = 0x7f7f;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const bases = [
    rrq('f'),
    rrq('sub/g', 'netascii', 'blksize', '100'),
    rrq('f', 'octet', 'blksize', '1428', 'tsize', '0', 'timeout', '1'),
    ack(0),
    ack(1),
    [...u16(ERROR), 0, 0, 0],
    [...u16(WRQ), ...cstrings('w', 'octet')],
  ];
  try {
    for (let i = 0; i < 3000; i++) {
      const p = [...bases[rand(bases.length)]!];
      for (let k = rand(4); k > 0; k--) {
        const at = rand(p.length + 1);
        const what = rand(3);
        if (what === 0 && p.length > 0) p.splice(at, 1);
        else if (what === 1) p.splice(at, 0, rand(256));
        else if (at < p.length) p[at] = rand(2) ? 0 : rand(256);
      }
      const clientPort = 5000 + rand(30);
      for (const f of g.out.splice(0)) {
        const u = udpOf(f);
        assert.equal(ipOf(f).source, HOST_IP);
        assert.ok(u.payload.length <= 4 + 1428);
        assert.ok([DATA, ERROR, OACK].includes(Buffer.from(u.payload).readUInt16BE(0)));
        if (u.sourcePort !== 69 && transferPorts.length < 200) transferPorts.push(u.sourcePort);
      }
      const port = transferPorts.length > 0 && rand(2) === 0 ? transferPorts[rand(transferPorts.length)]! : 69;
      send(g, clientPort, port, p);
      if (rand(20) === 0) g.clock.advance(rand(3000));
      if (rand(50) === 0) await new Promise((r) => setImmediate(r));
      assert.ok(g.slirp.tftpSessions <= 20);
    }
    await settle();
    assert.equal(g.slirp.drops['internal-error'], undefined, g.logs.join('\n'));
    assert.ok(transferPorts.length > 20, 'transfers were started and answered');
    assert.ok((g.slirp.drops['tftp-duplicate-ack'] ?? 0) + (g.slirp.drops['tftp-ended-transfer'] ?? 0) > 0, 'mutants reached live transfers');
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('refused TFTP names are logged once per window, then as a count (20,000 requests were 20,000 lines)', async () => {
  const fx = fixture();
  const g = guest(fx.root);
  try {
    for (let i = 0; i < 500; i++) send(g, 4000 + i, 69, rrq(`../x${i}`));
    const refusedLines = () => g.logs.filter((l) => l.startsWith('tftp: refused'));
    assert.equal(refusedLines().length, 1, refusedLines().slice(0, 3).join('\n'));
    assert.match(refusedLines()[0]!, /^tftp: refused "\.\.\/x0" from 10\.0\.2\.15 \(/);
    assert.equal(g.slirp.drops['tftp-name-refused'], 500, 'every refusal is still counted');
    g.clock.advance(10_000);
    assert.deepEqual(g.logs.filter((l) => l.startsWith('tftp: refused names:')), ['tftp: refused names: 499 more like that in the last 10 s']);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});
