/**
 * Host-side peers for guest tests, all on 127.0.0.1 (the guest reaches them
 * as 10.0.2.2): an HTTP file server, a TCP sink that hashes what it gets, a
 * UDP echo server and a tiny authoritative DNS server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { parseIpv6 } from '../../extension/wire/ipv6-address';

export interface Running {
  port: number;
  close(): Promise<void>;
}

const portOf = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;

/** Deterministic pseudo-random content, so a failure can be reproduced. */
export function testFile(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, bytes - 4));
  }
  return bytes >= 4 ? out : randomBytes(bytes);
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

export async function startHttpServer(files: Record<string, Buffer>): Promise<Running & { requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: portOf(server), requests, close: () => new Promise((r) => server.close(() => r())) };
}

export interface SinkResult {
  bytes: number;
  md5: string;
}

/** Accepts connections and hashes everything each one sends until it closes. */
export async function startTcpSink(): Promise<Running & { next(): Promise<SinkResult> }> {
  const results: SinkResult[] = [];
  const waiters: Array<(r: SinkResult) => void> = [];
  const server = createTcpServer((sock) => {
    const h = createHash('md5');
    let bytes = 0;
    sock.on('data', (d) => {
      bytes += d.length;
      h.update(d);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      const r = { bytes, md5: h.digest('hex') };
      const w = waiters.shift();
      if (w) w(r);
      else results.push(r);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: portOf(server),
    next: () => (results.length ? Promise.resolve(results.shift()!) : new Promise((r) => waiters.push(r))),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function startUdpEcho(): Promise<Running & { datagrams: number }> {
  const sock = createSocket('udp4');
  const state = { datagrams: 0 };
  sock.on('message', (msg, rinfo) => {
    state.datagrams++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    get datagrams() {
      return state.datagrams;
    },
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

/** Answers A queries from `records`, NXDOMAIN otherwise. Records every query name. */
export async function startDnsServer(records: Record<string, string>): Promise<Running & { queries: string[] }> {
  const sock = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0 && labels.length < 64) {
      const len = msg[off];
      labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
      off += 1 + len;
    }
    const qEnd = off + 5;
    if (qEnd > msg.length) return;
    const name = labels.join('.').toLowerCase();
    const qtype = msg.readUInt16BE(off + 1);
    queries.push(name);
    const addr = records[name];
    // An IPv4 record answers A queries, an IPv6 one AAAA queries.
    const v6 = addr?.includes(':') ?? false;
    const answer = addr && qtype === (v6 ? 28 : 1);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (addr ? 0 : 3), 2); // response, RD+RA, NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const question = msg.subarray(12, qEnd);
    const parts = [header, question];
    if (answer) {
      const data = v6 ? Buffer.from(parseIpv6(addr)!) : Buffer.from(addr.split('.').map(Number));
      const rr = Buffer.alloc(12 + data.length);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length, 10);
      data.copy(rr, 12);
      parts.push(rr);
    }
    sock.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, queries, close: () => new Promise((r) => sock.close(() => r())) };
}

/** A read-only TFTP server (RFC 1350 RRQ, octet mode): a UDP conversation through the NAT. */
export async function startTftpServer(files: Record<string, Buffer>): Promise<Running & { transfers: number }> {
  const sock = createSocket('udp4');
  const state = { transfers: 0 };
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 4 || msg.readUInt16BE(0) !== 1) return;
    const name = msg.subarray(2, msg.indexOf(0, 2)).toString('latin1');
    const body = files[name];
    // Each transfer gets its own socket (its own TID), as RFC 1350 says.
    const t = createSocket('udp4');
    t.bind(0, '127.0.0.1', () => {
      if (!body) {
        const err = Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('not found\0')]);
        t.send(err, rinfo.port, rinfo.address, () => t.close());
        return;
      }
      let block = 1;
      const sendBlock = () => {
        const data = body.subarray((block - 1) * 512, block * 512);
        const pkt = Buffer.alloc(4 + data.length);
        pkt.writeUInt16BE(3, 0);
        pkt.writeUInt16BE(block & 0xffff, 2);
        data.copy(pkt, 4);
        t.send(pkt, rinfo.port, rinfo.address);
        return data.length;
      };
      let last = sendBlock();
      t.on('message', (ack) => {
        if (ack.length < 4 || ack.readUInt16BE(0) !== 4 || ack.readUInt16BE(2) !== (block & 0xffff)) return;
        if (last < 512) {
          state.transfers++;
          t.close();
          return;
        }
        block++;
        last = sendBlock();
      });
    });
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    get transfers() {
      return state.transfers;
    },
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

/** A listener that collects what its first connection sends, until that side ends. */
export async function startCollector(): Promise<Running & { received: Promise<string> }> {
  const server = createTcpServer();
  const received = new Promise<string>((resolve) => {
    server.once('connection', (s) => {
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', () => resolve(text));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: portOf(server), received, close: () => new Promise((r) => server.close(() => r())) };
}
