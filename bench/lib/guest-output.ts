/** Parsers for what busybox prints in the guest. */

/** Interrupts taken by the network card: the /proc/interrupts line naming eth0 or a virtio device. */
export function nicInterrupts(procInterrupts: string): number | null {
  for (const line of procInterrupts.split('\n')) {
    if (/\b(eth0|virtio\d*(-input|-output)?)\b/.test(line)) {
      const m = /^\s*\w+:\s+(\d+)/.exec(line);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

export interface PingSummary {
  transmitted: number;
  received: number;
  min: number;
  avg: number;
  max: number;
}

/** busybox ping's summary lines. */
export function parsePing(out: string): PingSummary | null {
  const counts = /(\d+) packets transmitted, (\d+) packets received/.exec(out);
  const rtt = /min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
  if (!counts) return null;
  return {
    transmitted: Number(counts[1]),
    received: Number(counts[2]),
    min: rtt ? Number(rtt[1]) : NaN,
    avg: rtt ? Number(rtt[2]) : NaN,
    max: rtt ? Number(rtt[3]) : NaN,
  };
}

/** Per-packet round-trip times from ping's per-reply lines ("time=1.234 ms"). */
export function pingTimes(out: string): number[] {
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}
