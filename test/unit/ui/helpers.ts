/** Rows and plumbing shared by the UI tests. */
import type { ForwardRow, SessionRow } from '../../../extension/debug/protocol';
import type { Log } from '../../../extension/ui/log';

export function row(over: Partial<SessionRow> = {}): SessionRow {
  return {
    id: 1, protocol: 'tcp', state: 'ESTABLISHED', guest: '10.0.2.15:40000', remote: '10.0.2.2:8080', host: '127.0.0.1:8080',
    inbound: false, bytesOut: 1234, bytesIn: 34_000, packetsOut: 5, packetsIn: 30, ageMs: 4200, recvQ: 0, sendQ: 0, ...over,
  };
}

export function forward(over: Partial<ForwardRow> = {}): ForwardRow {
  return { protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: '10.0.2.15', guestPort: 22, ...over };
}

export class MemoryLog implements Log {
  readonly lines: string[] = [];
  info(m: string): void { this.lines.push(`info ${m}`); }
  warn(m: string): void { this.lines.push(`warn ${m}`); }
  error(m: string): void { this.lines.push(`error ${m}`); }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/**
 * Moves mocked timers on in small steps: one big tick would show every timer
 * callback the final time, which is not how time passes.
 */
export function advance(t: { mock: { timers: { tick(ms: number): void } } }, ms: number, step = 5): void {
  for (let done = 0; done < ms; done += step) t.mock.timers.tick(Math.min(step, ms - done));
}
