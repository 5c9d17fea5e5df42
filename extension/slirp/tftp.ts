import { formatIpv4 } from '../wire/address';
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import type { TimerHandle } from '../pipeline/clock';
import type { DropReason } from '../pipeline/drop-reasons';
import { allocateFrame, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { RateLimitedLog } from './log-limit';
import { readBlock, type TftpFileState } from './tftp-file';
import { refuseTftpName, resolveUnderRoot } from './tftp-path';
import { get16 } from '../wire/bytes';
import {
  parseTftpRequest,
  tftpData,
  tftpError,
  tftpOack,
  TFTP_ERR_ACCESS,
  TFTP_ERR_ILLEGAL,
  TFTP_ERR_NOT_FOUND,
  TFTP_ERR_UNDEFINED,
  TFTP_OP_ACK,
  TFTP_OP_ERROR,
  TFTP_OP_RRQ,
  TFTP_OP_WRQ,
} from '../wire/tftp';
import { TFTP_PORT } from '../wire/ports';
import { UDP_HEADER_LENGTH } from '../wire/udp';

/** Transfers at once (libslirp's TFTP_SESSIONS_MAX); a request beyond it is dropped and the client retries. */
export const TFTP_MAX_SESSIONS = 20;
/** The largest blksize granted (libslirp's TFTP_BLOCKSIZE_MAX); a DATA packet then fits the guest MTU. */
export const TFTP_BLOCKSIZE_MAX = 1428;
/** Retransmission interval unless the client negotiates `timeout` (RFC 2349). */
export const TFTP_RETRANSMIT_MS = 1000;
/** Retransmissions of one packet before the transfer is abandoned (so a dead client frees its session in ~6 s). */
export const TFTP_MAX_RETRANSMITS = 5;

const DEFAULT_BLOCK_SIZE = 512;
/** RFC 2348's smallest blksize; smaller requests are ignored (the transfer uses 512). */
const MIN_BLOCK_SIZE = 8;
/** Finished transfers remembered so late packets to their port are not forwarded to the host. */
const ENDED_REMEMBERED = 64;
const ENDED_FOR_MS = 10_000;

/** Sends a TFTP message (at TRANSPORT_OFFSET + 8 of `frame`) from 10.0.2.2:srcPort to the guest. */
export type TftpSend = (frame: Uint8Array, srcPort: number, dst: number, dstPort: number) => void;

/** One transfer; what it keeps of its file is TftpFileState's (tftp-file.ts). */
interface TftpSession extends TftpFileState {
  readonly client: number;
  readonly clientPort: number;
  /** The server's transfer port (RFC 1350's TID) on 10.0.2.2. */
  readonly port: number;
  readonly name: string;
  retransmitMs: number;
  /** DATA blocks sent so far; 0 while the OACK waits for its ACK 0. The wire carries it modulo 65536. */
  block: number;
  /** The last packet sent, kept for retransmission (at most blksize + 4 bytes). */
  packet?: Uint8Array;
  /** `packet` is the last DATA block: its ACK ends the transfer. */
  final: boolean;
  retries: number;
  timer?: TimerHandle;
  /** Opening the file or reading a block: ACKs meanwhile are ignored. */
  busy: boolean;
  /** A packet became ready while the VM was paused: sent on resume. */
  held: boolean;
  ended: boolean;
}

const endpoint = (addr: number, port: number) => `${addr}:${port}`;
const transferKey = (addr: number, port: number, tid: number) => `${addr}:${port}>${tid}`;

/**
 * The read-only TFTP server on 10.0.2.2:69 (libslirp's tftp.c), serving
 * config.tftpRoot; its packets are wire/tftp.ts's, its names are checked in
 * tftp-path.ts and its blocks read in tftp-file.ts. Beyond libslirp: replies
 * come from a per-transfer port (RFC 1350), lost packets are retransmitted on
 * the virtual clock, duplicate ACKs are ignored (no Sorcerer's Apprentice),
 * netascii and the `timeout` option are served, and the name is checked
 * against the real path of the root so neither `..` nor a symbolic link leads
 * out of it.
 *
 * Memory is bounded: a transfer holds one block (at most 1428 bytes) and an
 * open file handle; at most 20 transfers run at once.
 */
export class TftpServer {
  private readonly sessions = new Map<string, TftpSession>();
  private readonly ended = new Map<string, number>();
  private rootReal: Promise<string | null> | undefined;
  private closed = false;
  /** A guest can send a refused request per datagram: one line, then a count, per window. */
  private readonly refusals: RateLimitedLog;

  constructor(private readonly core: SlirpCore, private readonly send: TftpSend) {
    this.refusals = new RateLimitedLog(core.clock, (m) => core.log(m));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The transfer ports in use for a client endpoint's transfer (for tests and the debugger). */
  transferPort(client: number, clientPort: number): number | undefined {
    return this.sessions.get(endpoint(client, clientPort))?.port;
  }

  /** Whether a guest datagram to 10.0.2.2:port is TFTP's: port 69, a live transfer's port, or one just finished. */
  owns(client: number, clientPort: number, port: number): boolean {
    if (port === TFTP_PORT) return true;
    if (this.sessions.size === 0 && this.ended.size === 0) return false;
    if (this.sessions.get(endpoint(client, clientPort))?.port === port) return true;
    const key = transferKey(client, clientPort, port);
    const at = this.ended.get(key);
    if (at === undefined) return false;
    if (this.core.clock.now() - at <= ENDED_FOR_MS) return true;
    this.ended.delete(key);
    return false;
  }

  /** tftp_input: one datagram's payload from client:clientPort to 10.0.2.2:port. Never throws. */
  input(client: number, clientPort: number, port: number, msg: Uint8Array): void {
    if (this.closed) return;
    if (!this.core.config.tftpRoot) {
      // As libslirp: no tftp= means a read request is refused, and nothing leaves for the host.
      this.count('tftp-unsupported');
      if (msg.length >= 2 && get16(msg, 0) === TFTP_OP_RRQ) this.sendError(TFTP_PORT, client, clientPort, TFTP_ERR_ACCESS, 'Access violation');
      return;
    }
    if (msg.length < 2) return this.count('tftp-truncated');
    const op = get16(msg, 0);
    const session = this.sessions.get(endpoint(client, clientPort));
    if (port !== TFTP_PORT && session?.port !== port) return this.count('tftp-ended-transfer');
    switch (op) {
      case TFTP_OP_RRQ:
        if (port !== TFTP_PORT) return this.count('tftp-bad-opcode');
        return this.readRequest(client, clientPort, msg, session);
      case TFTP_OP_WRQ:
        this.count('tftp-write-refused');
        return this.sendError(port, client, clientPort, TFTP_ERR_ACCESS, 'Access violation: the server is read-only');
      case TFTP_OP_ACK:
        if (!session) return this.count('tftp-no-transfer');
        return this.ack(session, msg);
      case TFTP_OP_ERROR:
        // The client gave up (or refused our options): never answer an error with one.
        if (session) this.end(session);
        return;
      default:
        this.count('tftp-bad-opcode');
        return this.sendError(port, client, clientPort, TFTP_ERR_ILLEGAL, 'Illegal TFTP operation');
    }
  }

  /** Sends what became ready while the VM was paused. */
  resume(): void {
    for (const s of this.sessions.values()) {
      if (!s.held) continue;
      s.held = false;
      this.sendPacket(s);
    }
  }

  close(): void {
    this.closed = true;
    this.refusals.close();
    for (const s of [...this.sessions.values()]) this.end(s);
    this.ended.clear();
  }

  // ---- requests ----------------------------------------------------------

  private readRequest(client: number, clientPort: number, msg: Uint8Array, existing: TftpSession | undefined): void {
    const req = parseTftpRequest(msg);
    if (typeof req === 'string') {
      this.count(`tftp-${req}` as DropReason);
      const [code, text] = req === 'bad-mode' ? [TFTP_ERR_ILLEGAL, 'Unsupported transfer mode'] : [TFTP_ERR_ACCESS, 'Access violation'];
      return this.sendError(TFTP_PORT, client, clientPort, code, text);
    }
    const refused = refuseTftpName(req.name);
    if (refused) {
      this.count('tftp-name-refused');
      this.refusals.log('tftp: refused names', `tftp: refused ${JSON.stringify(req.name.slice(0, 80))} from ${formatIpv4(client)} (${refused})`);
      return this.sendError(TFTP_PORT, client, clientPort, TFTP_ERR_ACCESS, 'Access violation');
    }
    if (existing) {
      // The client sent its request again before our first answer reached it: answer again.
      if (existing.name === req.name && existing.block <= 1) {
        if (existing.packet && !existing.busy && !existing.held) this.sendPacket(existing);
        return;
      }
      this.end(existing);
    }
    if (this.sessions.size >= TFTP_MAX_SESSIONS) return this.count('tftp-sessions-full');
    const session: TftpSession = {
      client,
      clientPort,
      port: this.allocatePort(client, clientPort),
      name: req.name,
      netascii: req.mode === 'netascii',
      blockSize: DEFAULT_BLOCK_SIZE,
      retransmitMs: TFTP_RETRANSMIT_MS,
      block: 0,
      final: false,
      retries: 0,
      busy: true,
      held: false,
      offset: 0,
      carry: -1,
      ended: false,
    };
    this.sessions.set(endpoint(client, clientPort), session);
    // The timer also bounds a transfer whose file never opens (a hung file system).
    this.armTimer(session);
    this.openFile(session, req.options).catch((err: unknown) => this.failed(session, err));
  }

  private async openFile(s: TftpSession, options: ReadonlyMap<string, string>): Promise<void> {
    const root = await this.root();
    if (s.ended) return;
    if (root === null) return this.sessionError(s, TFTP_ERR_NOT_FOUND, 'File not found');
    const resolved = await resolveUnderRoot(root, s.name);
    if (s.ended) return;
    if ('error' in resolved) {
      if (resolved.error === 'outside-root') {
        this.count('tftp-outside-root');
        this.refusals.log('tftp: names leading outside the root', `tftp: ${JSON.stringify(s.name)} leads outside the root; refused`);
        return this.sessionError(s, TFTP_ERR_ACCESS, 'Access violation');
      }
      return this.sessionError(s, TFTP_ERR_NOT_FOUND, 'File not found');
    }
    // O_NOFOLLOW: the path was just resolved, a link swapped in since is not followed.
    // O_NONBLOCK: a FIFO in the root must not hang the open.
    const file = await open(resolved.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    if (s.ended) return void file.close().catch(() => {});
    s.file = file;
    const st = await file.stat();
    if (s.ended) return;
    if (!st.isFile()) return this.sessionError(s, TFTP_ERR_NOT_FOUND, 'File not found');
    const granted = this.negotiate(s, options, st.size);
    s.busy = false;
    if (granted.length > 0) return this.transmit(s, tftpOack(granted));
    await this.nextBlock(s);
  }

  /** blksize (RFC 2348), tsize and timeout (RFC 2349); others are ignored, as the RFCs allow. */
  private negotiate(s: TftpSession, options: ReadonlyMap<string, string>, size: number): [string, number][] {
    const granted: [string, number][] = [];
    const num = (v: string | undefined) => (v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : NaN);
    const blksize = num(options.get('blksize'));
    if (blksize >= MIN_BLOCK_SIZE) {
      s.blockSize = Math.min(blksize, TFTP_BLOCKSIZE_MAX);
      granted.push(['blksize', s.blockSize]);
    }
    // The size of a netascii transfer is not the file's: tsize is offered in octet mode only.
    if (options.has('tsize') && !s.netascii) granted.push(['tsize', size]);
    const timeout = num(options.get('timeout'));
    if (timeout >= 1 && timeout <= 255) {
      s.retransmitMs = timeout * 1000;
      granted.push(['timeout', timeout]);
    }
    return granted;
  }

  // ---- transfer ----------------------------------------------------------

  private ack(s: TftpSession, msg: Uint8Array): void {
    if (msg.length < 4) return this.count('tftp-truncated');
    if (s.busy || !s.packet) return;
    // Only the ACK of the packet in flight moves on; a duplicate waits for the timer (RFC 1123 4.2.3.1).
    if (get16(msg, 2) !== (s.block & 0xffff)) return this.count('tftp-duplicate-ack');
    if (s.final) return this.end(s);
    s.retries = 0;
    this.nextBlock(s).catch((err: unknown) => this.failed(s, err));
  }

  private async nextBlock(s: TftpSession): Promise<void> {
    s.busy = true;
    const data = await readBlock(s);
    if (s.ended) return;
    s.busy = false;
    s.block++;
    s.final = data.length < s.blockSize;
    this.transmit(s, tftpData(s.block, data));
  }

  private transmit(s: TftpSession, packet: Uint8Array): void {
    if (s.ended) return;
    s.packet = packet;
    s.retries = 0;
    if (this.core.paused) s.held = true;
    else this.sendPacket(s);
    this.armTimer(s);
  }

  private armTimer(s: TftpSession): void {
    this.clearTimer(s);
    s.timer = this.core.clock.setTimeout(() => this.retransmit(s), s.retransmitMs);
  }

  private clearTimer(s: TftpSession): void {
    if (s.timer) this.core.clock.clearTimeout(s.timer);
    s.timer = undefined;
  }

  private retransmit(s: TftpSession): void {
    s.timer = undefined;
    if (s.ended) return;
    if (s.retries >= TFTP_MAX_RETRANSMITS) {
      this.count('tftp-timeout');
      return this.end(s);
    }
    s.retries++;
    // While a block is being read there is nothing new to resend; the count still runs.
    if (!s.busy) {
      if (this.core.paused) s.held = true;
      else this.sendPacket(s);
    }
    this.armTimer(s);
  }

  private sendPacket(s: TftpSession): void {
    if (!s.packet || s.ended) return;
    // A fresh frame each time: the lower layers write headers into it, and a probe may keep it.
    const frame = allocateFrame(UDP_HEADER_LENGTH + s.packet.length);
    frame.set(s.packet, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    this.send(frame, s.port, s.client, s.clientPort);
  }

  private failed(s: TftpSession, err: unknown): void {
    if (s.ended) return;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'EACCES' || code === 'EPERM') return this.sessionError(s, TFTP_ERR_ACCESS, 'Access violation');
    if (code === 'ENOENT' || code === 'ELOOP') return this.sessionError(s, TFTP_ERR_NOT_FOUND, 'File not found');
    this.count('tftp-read-error');
    this.core.log(`tftp: ${JSON.stringify(s.name)}: ${(err as Error)?.message ?? err}`);
    this.sessionError(s, TFTP_ERR_UNDEFINED, 'Read error');
  }

  private sessionError(s: TftpSession, code: number, text: string): void {
    this.sendError(s.port, s.client, s.clientPort, code, text);
    this.end(s);
  }

  private end(s: TftpSession): void {
    if (s.ended) return;
    s.ended = true;
    this.clearTimer(s);
    const key = endpoint(s.client, s.clientPort);
    if (this.sessions.get(key) === s) this.sessions.delete(key);
    if (this.ended.size >= ENDED_REMEMBERED) this.ended.delete(this.ended.keys().next().value!);
    this.ended.set(transferKey(s.client, s.clientPort, s.port), this.core.clock.now());
    s.packet = undefined;
    const file = s.file;
    s.file = undefined;
    file?.close().catch(() => {});
  }

  private sendError(srcPort: number, client: number, clientPort: number, code: number, text: string): void {
    const packet = tftpError(code, text);
    const frame = allocateFrame(UDP_HEADER_LENGTH + packet.length);
    frame.set(packet, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    this.send(frame, srcPort, client, clientPort);
  }

  /** A transfer port in the dynamic range, not used by another live transfer. */
  private allocatePort(client: number, clientPort: number): number {
    const inUse = new Set([...this.sessions.values()].map((s) => s.port));
    for (;;) {
      const port = 49152 + Math.floor(Math.random() * 16384);
      if (!inUse.has(port) && !this.ended.has(transferKey(client, clientPort, port))) return port;
    }
  }

  /** The real path of the root; retried on the next request when it does not exist yet. */
  private root(): Promise<string | null> {
    if (!this.rootReal) {
      const dir = this.core.config.tftpRoot!;
      this.rootReal = realpath(dir).catch(() => {
        this.core.log(`tftp: the root ${dir} does not exist`);
        this.rootReal = undefined;
        return null;
      });
    }
    return this.rootReal;
  }

  private count(reason: DropReason): void {
    this.core.dropCounter.count(reason);
  }
}
