import type { TcpConnection } from './connection';

/** A small integer (a V8 "smi": no heap number per look-up) from the two ports; the addresses and exact ports settle collisions. */
const bucketOf = (guestPort: number, remotePort: number): number => (guestPort ^ (remotePort << 14)) & 0x3fffffff;

/**
 * The connections of a TCP stack by their four-tuple. It is looked up for
 * every segment, so the key is a number from the ports (no string built per
 * segment, as a `${addr}:${port}>...` key would), and the rare connections that
 * share it are told apart by their addresses.
 */
export class ConnectionTable {
  private readonly buckets = new Map<number, TcpConnection[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number): TcpConnection | undefined {
    const list = this.buckets.get(bucketOf(guestPort, remotePort));
    if (!list) return undefined;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.guestPort === guestPort && c.remotePort === remotePort && c.guestAddr === guestAddr && c.remoteAddr === remoteAddr) return c;
    }
    return undefined;
  }

  has(guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number): boolean {
    return this.get(guestAddr, guestPort, remoteAddr, remotePort) !== undefined;
  }

  /** Adds a connection whose four-tuple is not in the table. */
  add(conn: TcpConnection): void {
    const key = bucketOf(conn.guestPort, conn.remotePort);
    const list = this.buckets.get(key);
    if (list) list.push(conn);
    else this.buckets.set(key, [conn]);
    this.count++;
  }

  /** Removes that connection (not another of the same four-tuple); false when it is not here. */
  delete(conn: TcpConnection): boolean {
    const key = bucketOf(conn.guestPort, conn.remotePort);
    const list = this.buckets.get(key);
    const i = list ? list.indexOf(conn) : -1;
    if (!list || i < 0) return false;
    if (list.length === 1) this.buckets.delete(key);
    else list.splice(i, 1);
    this.count--;
    return true;
  }

  *values(): IterableIterator<TcpConnection> {
    for (const list of this.buckets.values()) yield* list;
  }
}
