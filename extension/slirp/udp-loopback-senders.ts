/**
 * Port unreachable from the host's own closed ports. A guest port's flow sends
 * through one unconnected socket (replies from any host port reach the guest,
 * as with libslirp), and Node exposes no IP_RECVERR: the kernel tells only a
 * connected UDP socket that a port was closed (ECONNREFUSED). So datagrams to
 * the host's loopback (10.0.2.2 -> 127.0.0.1, fec0::2 -> ::1) leave through a
 * socket connected to that peer and bound to the flow's own port (both with
 * SO_REUSEADDR): the service sees the same source port, the kernel delivers
 * the peer's replies to the connected socket and everything else to the
 * flow's, and a refusal comes back to say "port unreachable" to the guest.
 * Remote hosts' refusals stay silent, as in libslirp.
 */
import dgram from 'node:dgram';

/** Connected senders per flow; past this, loopback peers are sent to from the flow's socket (no refusal heard). */
export const MAX_LOOPBACK_SENDERS = 8;
/** Datagrams a sender holds while it binds and connects. */
const MAX_WAITING = 32;

interface Sender<C> {
  readonly socket: dgram.Socket;
  ready: boolean;
  waiting: Buffer[];
  /** What the caller said of the latest datagram sent to this peer (its quote, the address the guest used). */
  context: C;
}

export function isLoopbackPeer(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export class LoopbackSenders<C> {
  private readonly senders = new Map<string, Sender<C>>();
  private closed = false;

  /**
   * @param flowSocket the flow's unconnected socket, created with reuseAddr
   * @param options the same socket type for the senders (reuseAddr is added)
   * @param onMessage a reply on a sender, handled as one on the flow's socket
   * @param onRefused the host refused a datagram sent with `context`
   */
  constructor(
    private readonly flowSocket: dgram.Socket,
    private readonly options: dgram.SocketOptions,
    private readonly onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void,
    private readonly onRefused: (context: C) => void,
  ) {}

  /** Sends `data` to a loopback peer through its connected sender; false when the caller sends it itself. */
  send(data: Buffer, address: string, port: number, context: C): boolean {
    if (this.closed || !isLoopbackPeer(address)) return false;
    const key = `${address}|${port}`;
    let sender = this.senders.get(key);
    if (!sender) {
      if (this.senders.size >= MAX_LOOPBACK_SENDERS) return false;
      sender = this.open(key, address, port, context);
    }
    sender.context = context;
    if (!sender.ready) {
      if (sender.waiting.length < MAX_WAITING) sender.waiting.push(data);
      return true;
    }
    sender.socket.send(data, (err) => err && this.failed(sender!, err));
    return true;
  }

  close(): void {
    this.closed = true;
    for (const s of this.senders.values()) closeQuietly(s.socket);
    this.senders.clear();
  }

  private open(key: string, address: string, port: number, context: C): Sender<C> {
    const socket = dgram.createSocket({ ...this.options, reuseAddr: true });
    const sender: Sender<C> = { socket, ready: false, waiting: [], context };
    this.senders.set(key, sender);
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => this.failed(sender, err));
    const connect = () => {
      if (this.closed) return;
      socket.bind(this.flowSocket.address().port, () =>
        socket.connect(port, address, () => {
          sender.ready = true;
          for (const d of sender.waiting.splice(0)) socket.send(d, (err) => err && this.failed(sender, err));
        }),
      );
    };
    // The flow's port is known once its socket is bound (the first datagram is sent while it binds).
    if (isBound(this.flowSocket)) connect();
    else this.flowSocket.once('listening', connect);
    return sender;
  }

  private failed(sender: Sender<C>, err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    if (err.code === 'ECONNREFUSED') return this.onRefused(sender.context);
    // Anything else (the port was taken meanwhile): this peer goes back to the flow's socket.
    for (const [key, s] of this.senders) if (s === sender) this.senders.delete(key);
    closeQuietly(sender.socket);
  }
}

function isBound(socket: dgram.Socket): boolean {
  try {
    socket.address();
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
