/**
 * A stage as the pipeline calls it: the probe fires with a resume closure that
 * calls the stage again, exactly as slirp's stage functions do, and a packet
 * that gets past the probe is recorded as delivered at the clock's time.
 */
import { NetworkConditions } from '../../../../extension/pipeline/netem';
import { ProbeHub } from '../../../../extension/pipeline/probe';
import type { StageName } from '../../../../extension/pipeline/stages';
import { ManualClock } from '../../slirp/tcp/support/manual-clock';
import { ipv4Frame, udp } from '../frames';

const UDP_PAYLOAD = 14 + 20 + 8;

export interface Delivery {
  readonly frame: Uint8Array;
  readonly at: number;
}

export class StageHarness {
  readonly clock = new ManualClock();
  readonly hub = new ProbeHub();
  readonly conditions: NetworkConditions;
  readonly delivered: Delivery[] = [];
  readonly drops: string[] = [];

  constructor(seed = 1) {
    this.conditions = new NetworkConditions(this.hub, this.clock, { seed });
    this.hub.drops.listen((d) => this.drops.push(d.reason));
  }

  send(stage: StageName, frame: Uint8Array): void {
    const p = this.hub.probes[stage];
    if (p.armed && p.fire({ stage, frame }, () => this.send(stage, frame))) return;
    this.delivered.push({ frame, at: this.clock.now() });
  }
}

const templates = new Map<number, Uint8Array>();

/** A UDP datagram from the guest whose first payload bytes number it (the UDP checksum is left as the template's). */
export function numberedFrame(n: number, payloadBytes = 32): Uint8Array {
  let template = templates.get(payloadBytes);
  if (!template) {
    template = ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17 }, udp(40000, 5000, new Array<number>(payloadBytes).fill(0)));
    templates.set(payloadBytes, template);
  }
  const frame = template.slice();
  new DataView(frame.buffer).setUint32(UDP_PAYLOAD, n);
  return frame;
}

export function frameNumber(frame: Uint8Array): number {
  const o = UDP_PAYLOAD;
  return ((frame[o]! << 24) | (frame[o + 1]! << 16) | (frame[o + 2]! << 8) | frame[o + 3]!) >>> 0;
}
