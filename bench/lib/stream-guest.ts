/**
 * A synthetic guest on the far side of a QEMU `-netdev stream` socket: it
 * speaks Ethernet frames with QEMU's 4-byte length framing, resolves the
 * gateway by ARP, answers ARP for its own address, and carries LeanGuest TCP
 * connections. With it, a stream backend (usernet serve, passt) can be driven
 * at full speed with no VM: what the backend process spends per MiB is then
 * the backend's alone.
 */
import net from 'node:net';
import { StreamFrameDecoder, encodeStreamFrame } from '../../extension/machine/stream-framing';
import { IP_FLAG_DF, writeIpv4HeaderAt } from '../../extension/wire/ipv4';
import { LeanGuest, type LeanGuestOptions } from './lean-guest';
import { GATEWAY_IP, GUEST_IP } from './stack-host';

const GUEST_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function arpFrame(op: 1 | 2, senderMac: Uint8Array, senderIp: number, targetMac: Uint8Array, targetIp: number, dstMac: Uint8Array): Uint8Array {
  const f = new Uint8Array(42);
  f.set(dstMac, 0);
  f.set(senderMac, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op], 12);
  f.set(senderMac, 22);
  put32(f, 28, senderIp);
  f.set(targetMac, 32);
  put32(f, 38, targetIp);
  return f;
}

export class StreamGuest {
  private readonly guests = new Map<number, LeanGuest>();
  private gatewayMac: Uint8Array | undefined;
  private gatewayKnown: (() => void) | undefined;
  private nextPort = 30000;
  private ipId = 0;

  private constructor(private readonly socket: net.Socket) {
    const decoder = new StreamFrameDecoder((f) => this.receive(f));
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
  }

  /** Connects to the backend's socket and resolves the gateway's MAC. */
  static async connect(path: string): Promise<StreamGuest> {
    // passt creates its socket file a moment before it listens on it: a refused connect is tried again.
    let socket: net.Socket | undefined;
    for (let attempt = 0; !socket; attempt++) {
      socket = await new Promise<net.Socket | undefined>((resolve, reject) => {
        const s = net.connect(path, () => resolve(s));
        s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' && attempt < 20 ? setTimeout(resolve, 100) : reject(e)));
      });
    }
    const g = new StreamGuest(socket);
    const known = new Promise<void>((r) => (g.gatewayKnown = r));
    for (let i = 0; i < 50 && !g.gatewayMac; i++) {
      g.send(arpFrame(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), GATEWAY_IP, BROADCAST));
      await Promise.race([known, new Promise((r) => setTimeout(r, 100))]);
    }
    if (!g.gatewayMac) throw new Error('the backend never answered ARP for the gateway');
    return g;
  }

  /** A TCP connection to the gateway's `port` (the host's loopback port), not yet connected. */
  tcp(port: number, opts: Partial<LeanGuestOptions> & { mss: number }): LeanGuest {
    const srcPort = this.nextPort++;
    const g = new LeanGuest((src, dst, seg) => this.sendIp(src, dst, 6, seg), { src: GUEST_IP, dst: GATEWAY_IP, srcPort, dstPort: port, ...opts });
    this.guests.set(srcPort, g);
    return g;
  }

  /** Stops routing frames to a finished connection (a long run of short ones keeps no map entry each). */
  forget(tcp: LeanGuest): void {
    this.guests.delete(tcp.o.srcPort);
  }

  close(): void {
    this.socket.destroy();
  }

  private sendIp(src: number, dst: number, protocol: number, payload: Uint8Array): void {
    const f = new Uint8Array(34 + payload.length);
    f.set(this.gatewayMac!, 0);
    f.set(GUEST_MAC, 6);
    f[12] = 0x08;
    writeIpv4HeaderAt(f, 14, src, dst, protocol, payload.length, this.ipId++, 64, 0, IP_FLAG_DF);
    f.set(payload, 34);
    this.send(f);
  }

  private send(frame: Uint8Array): void {
    this.socket.write(encodeStreamFrame(frame));
  }

  private receive(f: Uint8Array): void {
    if (f.length < 14) return;
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806 && f.length >= 42) {
      const op = f[21];
      if (op === 2 && get32(f, 28) === GATEWAY_IP && !this.gatewayMac) {
        this.gatewayMac = f.slice(22, 28);
        this.gatewayKnown?.();
      } else if (op === 1 && get32(f, 38) === GUEST_IP) {
        this.send(arpFrame(2, GUEST_MAC, GUEST_IP, f.subarray(22, 28), get32(f, 28), f.subarray(22, 28)));
      }
      return;
    }
    if (type !== 0x0800 || f[23] !== 6) return;
    const ihl = (f[14]! & 15) * 4;
    const total = (f[16]! << 8) | f[17]!;
    const tcp = f.subarray(14 + ihl, 14 + total);
    const g = this.guests.get((tcp[2]! << 8) | tcp[3]!);
    g?.deliver(tcp);
  }
}
