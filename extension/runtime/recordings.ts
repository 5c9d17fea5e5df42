/**
 * What the runtime records on request: a capture to a pcap/pcapng file (each
 * frame's journey in its comment) and every NAT session's flow for the flow
 * views, which stays readable after the VM stops, until the next start.
 */
import { attachJourneyCapture } from '../pipeline/journey-capture';
import type { Capture } from '../pipeline/capture';
import { compileFilter } from '../pipeline/filter';
import type { FlowSnapshot } from '../pipeline/flow/record';
import { JourneyRecorder } from '../pipeline/journey-recorder';
import type { EngineKind } from '../pipeline/stages';
import type { CaptureRequest, CaptureResult } from './feed-bodies';
import { FlowRecorder } from './flow-recorder';
import type { RuntimeMachine } from './machine-port';
import { RuntimeError } from './runtime-types';

export interface RecordingHost {
  machine(): RuntimeMachine | undefined;
  engine(): EngineKind;
  /** A capture started or stopped: the VM state shows it. */
  captureChanged(): void;
}

export class Recordings {
  private capture: { capture: Capture; file?: string } | undefined;
  /** Every NAT session's flow while recording is on (kept after the VM stops, until the next start). */
  private flows: FlowRecorder | undefined;
  private stopFlows: (() => void) | undefined;
  /** The UI wants flows recorded (a view that shows them is visible): off, no probe is armed for them. */
  private flowsWanted = false;

  constructor(private readonly host: RecordingHost) {}

  /** A VM came up: a fresh flow record, started if a view waits for it. */
  attach(machine: RuntimeMachine): void {
    if (!machine.slirp) return;
    this.flows = undefined;
    if (this.flowsWanted) this.startFlows();
  }

  detach(): void {
    this.stopFlows?.();
    this.stopFlows = undefined;
  }

  /** The capture in progress, as the VM state shows it. */
  get captureState(): { file: string; packets: number } | undefined {
    return this.capture && { file: this.capture.file ?? '', packets: this.capture.capture.stats.captured };
  }

  startCapture(args: CaptureRequest): void {
    const machine = this.host.machine();
    if (!machine) throw new RuntimeError('the VM is not running');
    if (this.capture) throw new RuntimeError(`a capture is already running${this.capture.file ? ` (to ${this.capture.file})` : ''}: stop it first`);
    // A .pcapng gets each frame's journey, stage and NAT mapping in its comment, as `usernet run --pcap x.pcapng` does.
    const capture = attachJourneyCapture(machine.probes, { file: args.file, engine: this.host.engine() === 'qemu' ? 'qemu' : 'embedded', ...(args.filter ? { filter: args.filter } : {}), ...(args.snaplen ? { snaplen: args.snaplen } : {}) }, machine.clock);
    this.capture = { capture, file: args.file };
    this.host.captureChanged();
  }

  async stopCapture(): Promise<CaptureResult> {
    const c = this.capture;
    if (!c) return { captured: 0 };
    this.capture = undefined;
    this.host.captureChanged();
    const stats = await c.capture.stop();
    if (stats.error) throw new RuntimeError(`the capture to ${c.file} failed: ${stats.error}`);
    return { captured: stats.captured, ...(c.file ? { file: c.file } : {}) };
  }

  /** The VM goes away: the capture is written out as it is. */
  async endCapture(): Promise<void> {
    const c = this.capture;
    this.capture = undefined;
    if (c) await c.capture.stop();
  }

  /** Records every NAT session's flow (on) or stops (off; what was recorded stays readable). */
  recordFlows(on: boolean): void {
    this.flowsWanted = on;
    if (on && !this.stopFlows) this.startFlows();
    if (!on) this.detach();
  }

  private startFlows(): void {
    const machine = this.host.machine();
    const nat = machine?.slirp?.nat;
    if (!machine || !nat) return;
    const journeys = new JourneyRecorder(machine.probes, { clock: machine.clock, engine: this.host.engine() });
    const stopJourneys = journeys.start();
    this.flows ??= new FlowRecorder(nat, machine.clock);
    const stopFlows = this.flows.start(journeys, machine.probes);
    this.stopFlows = () => {
      stopFlows();
      stopJourneys();
    };
  }

  /** A NAT session's flow from item `from` on (also after the VM stopped, until it starts again). */
  flow(session: number, from: number): FlowSnapshot {
    const snapshot = this.flows?.snapshot(session, from);
    if (!snapshot) throw new RuntimeError(`no flow recorded for NAT session ${session}${this.flowsWanted ? '' : ' (flows are recorded while the NAT Sessions view or a flow view is visible)'}`);
    return snapshot;
  }

  /** The packets of a flow the filter keeps; a filter that does not parse throws its message. */
  flowFilter(session: number, text: string): number[] {
    const flows = this.flows;
    if (!flows?.snapshot(session, Number.MAX_SAFE_INTEGER)) throw new RuntimeError(`no flow recorded for NAT session ${session}`);
    const filter = compileFilter(text);
    return flows.packetsMatching(session, (frame) => filter.matchesFrame(frame));
  }

  flowDetail(session: number, n: number): { frame?: string; journey?: string } {
    const d = this.flows?.detail(session, n);
    if (!d) throw new RuntimeError(`packet ${n} of NAT session ${session} is no longer kept`);
    return { ...(d.frame ? { frame: Buffer.from(d.frame).toString('base64') } : {}), ...(d.journey ? { journey: d.journey } : {}) };
  }
}
