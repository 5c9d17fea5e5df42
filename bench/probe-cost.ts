/**
 * What a breakpoint that never matches costs per packet, measured in process
 * (no VM, no network): synthetic TCP segments for the guest go through the
 * probes of the RX chain the way slirp, the net queue and the e1000 fire them
 * (`if (p.enter() && p.fire({ stage, frame }, resume))`), with
 *
 *   no counters  the probe sites as they were before the always-on counters
 *          (`if (p.armed && ...)`: one branch, nothing counted)
 *   none   no breakpoint (each probe counts the frame and pays one branch)
 *   1 bp   one conditional breakpoint on e1000_receive_iov that never holds
 *          (only its stage is armed)
 *   5 bp   five such breakpoints on RX stages
 *   journey (no pass-over)  as "journey" through sites that ignore ProbeHub.passOver
 *          (the probe sites before it: every armed stage builds its hit)
 *   journey      journeys recorded for a filter that never matches (every stage armed;
 *          the stages after the filter's decision pass the frame over)
 *   journey all  every packet's journey recorded
 *   flows        every packet's journey and the flow recorder (debug/flow-recorder.ts)
 *                with no view reading the flow: it keeps the flow's head and
 *                latest items (what the NAT Sessions view being visible costs)
 *   flows, view open  the same with the session's flow view open (read every
 *                1000 packets): the recorder keeps every packet, within its limits
 *
 * Deterministic input; each configuration is timed several rounds and the
 * median is kept. Prints microseconds per packet and the ratio to "no counters".
 *
 *   node --import tsx bench/probe-cost.ts [--packets 200000] [--rounds 5] [--per-flow N]
 */
import { parseArgs } from 'node:util';
import { BreakpointManager, type BreakpointSpec } from '../extension/pipeline/breakpoints';
import type { Clock } from '../extension/pipeline/clock';
import { compileFilter } from '../extension/pipeline/filter';
import { DEFAULT_FLOW_LIMITS, FlowRecorder } from '../extension/runtime/flow-recorder';
import { JourneyRecorder } from '../extension/pipeline/journey-recorder';
import { NatTable, type NatSession } from '../extension/slirp/nat';
import { ProbeHub, type Probe } from '../extension/pipeline/probe';
import type { StageName } from '../extension/pipeline/stages';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' }, 'per-flow': { type: 'string' } } });
const PACKETS = Number(values.packets);
const ROUNDS = Number(values.rounds);

const ONE: BreakpointSpec[] = [{ stage: 'e1000_receive_iov', condition: 'tcp.srcport == 1 && ip.src == 10.9.9.9' }];
const FIVE: BreakpointSpec[] = [
  ...ONE,
  { stage: 'qemu_receive_packet', condition: 'ip.src == 10.9.9.9' },
  { stage: 'tcp_output', condition: 'tcp.dstport == 1' },
  { stage: 'if_output', condition: 'tcp.flags.syn == 1 && tcp.flags.ack == 0' },
  { stage: 'net_slirp_send_packet', condition: 'udp.dstport == 1 || arp.opcode == 9' },
];

/** The stages a downloaded segment crosses after soread, in order. */
const FRAME_STAGES: readonly StageName[] = ['tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov', 'set_ics'];

/** A 1514-byte TCP segment 10.0.2.2:80 -> 10.0.2.15:40000 (checksums are not looked at). */
function segmentTemplate(): Uint8Array {
  const f = new Uint8Array(1514);
  const v = new DataView(f.buffer);
  f.set([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0, 2, 2], 0);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 1500);
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, 2, 2, 10, 0, 2, 15], 26);
  v.setUint16(34, 80);
  v.setUint16(36, 40000);
  f[46] = 0x50;
  f[47] = 0x10;
  v.setUint16(48, 65535);
  for (let i = 54; i < f.length; i++) f[i] = i & 0xff;
  return f;
}

const template = segmentTemplate();
const payload = template.subarray(54);
const EMPTY = new Uint8Array(0);
let sink = 0;

/** One segment: soread's bytes, then a fresh frame (slirp builds one per segment) through the chain. */
function onePacket(probes: ProbeHub['probes'], seq: number): void {
  const so: Probe = probes.soread;
  if (so.enter()) so.fire({ stage: 'soread', frame: EMPTY, payload }, () => {});
  const frame = template.slice();
  frame[41] = seq & 0xff;
  for (const stage of FRAME_STAGES) {
    const p = probes[stage];
    if (p.enter(frame) && p.fire({ stage, frame }, () => { sink++; })) return;
  }
  sink += frame[41]!;
}

/** The same segment through probe sites that count nothing: the baseline the counters are measured against. */
function onePacketUncounted(probes: ProbeHub['probes'], seq: number): void {
  const so: Probe = probes.soread;
  if (so.armed) so.fire({ stage: 'soread', frame: EMPTY, payload }, () => {});
  const frame = template.slice();
  frame[41] = seq & 0xff;
  for (const stage of FRAME_STAGES) {
    const p = probes[stage];
    if (p.armed && p.fire({ stage, frame }, () => { sink++; })) return;
  }
  sink += frame[41]!;
}

const clock: Clock = { now: () => performance.now(), setTimeout: () => ({ id: 0 }), clearTimeout: () => {} };

/** Journeys for `filter` (every packet when absent); the disarm function checks how many were recorded. */
function armJourneys(hub: ProbeHub, filter: string | undefined, expectAny: boolean): () => void {
  const recorder = new JourneyRecorder(hub, { clock, ...(filter ? { filter: compileFilter(filter) } : {}) });
  let ended = 0;
  recorder.listen((e) => void (e.type === 'end' && ended++));
  const stop = recorder.start();
  return () => {
    stop();
    if (expectAny !== ended > 0) throw new Error(`${ended} journeys recorded`);
  };
}

/** The recorder of the 'flows, view open' configuration, read as a view polls. */
let openFlow: FlowRecorder | undefined;

/** Journeys of every packet, kept by the flow recorder as the session 10.0.2.15:40000 > 10.0.2.2:80's flow. */
function armFlows(hub: ProbeHub, viewOpen = false): () => void {
  const nat = new NatTable();
  const session = {
    id: 1, protocol: 'tcp', state: 'ESTABLISHED', guestAddr: 0x0a00020f, guestPort: 40000, remoteAddr: 0x0a000202, remotePort: 80,
    hostLocalAddr: '127.0.0.1', hostLocalPort: 50000, hostPeerAddr: '127.0.0.1', hostPeerPort: 80, inbound: false, createdAt: 0, lastActivity: 0,
    recvQ: 0, sendQ: 0, fd: -1, bytesOut: 0, packetsOut: 0, bytesIn: 0, packetsIn: 0, close: () => {},
  } satisfies NatSession;
  const journeys = new JourneyRecorder(hub, { clock });
  const flows = new FlowRecorder(nat, clock, values['per-flow'] ? { ...DEFAULT_FLOW_LIMITS, perFlow: Number(values['per-flow']) } : DEFAULT_FLOW_LIMITS);
  const stopJourneys = journeys.start();
  const stopFlows = flows.start(journeys, hub);
  nat.add(session);
  if (viewOpen) openFlow = flows;
  return () => {
    openFlow = undefined;
    stopFlows();
    stopJourneys();
    const kept = flows.snapshot(1)!;
    if (kept.next < 2) throw new Error(`the flow recorder kept ${kept.next} items`);
  };
}

function armBreakpoints(hub: ProbeHub, specs: readonly BreakpointSpec[]): () => void {
  const manager = new BreakpointManager(hub);
  const status = manager.set(specs);
  if (status.some((s) => !s.verified)) throw new Error(`breakpoint refused: ${JSON.stringify(status)}`);
  let stops = 0;
  manager.onStop = () => stops++;
  return () => {
    manager.dispose();
    if (stops) throw new Error('a breakpoint that should never match stopped');
  };
}

function run(arm: (hub: ProbeHub) => () => void, packets: number, packet = onePacket): number {
  const hub = new ProbeHub();
  const disarm = arm(hub);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < packets; i++) packet(hub.probes, i);
  const ns = Number(process.hrtime.bigint() - t0);
  disarm();
  return ns / 1000 / packets;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const configs: Array<[string, (hub: ProbeHub) => () => void, typeof onePacket?]> = [
  ['no counters', (hub) => armBreakpoints(hub, []), onePacketUncounted],
  ['none', (hub) => armBreakpoints(hub, [])],
  ['1 bp', (hub) => armBreakpoints(hub, ONE)],
  ['5 bp', (hub) => armBreakpoints(hub, FIVE)],
  ['journey (no pass-over)', (hub) => armJourneys(hub, 'ip.addr == 10.9.9.9', false), onePacketUncounted],
  ['journey', (hub) => armJourneys(hub, 'ip.addr == 10.9.9.9', false)],
  ['journey all', (hub) => armJourneys(hub, undefined, true)],
  ['flows', (hub) => armFlows(hub)],
  ['flows, view open', (hub) => armFlows(hub, true), (probes, seq) => {
    if (seq % 1000 === 0) openFlow!.snapshot(1, Number.MAX_SAFE_INTEGER);
    onePacket(probes, seq);
  }],
];

// Warm up every path so the JIT has seen them all before timing.
for (const [, arm, packet] of configs) run(arm, Math.min(PACKETS, 20000), packet);
const samples = new Map<string, number[]>(configs.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) for (const [name, arm, packet] of configs) samples.get(name)!.push(run(arm, PACKETS, packet));

const base = median(samples.get('no counters')!);
console.log(`probe cost: ${PACKETS} packets x ${ROUNDS} rounds, 8 RX stages, node ${process.version}`);
for (const [name] of configs) {
  const us = median(samples.get(name)!);
  console.log(`${name.padEnd(23)} ${us.toFixed(3).padStart(7)} us/packet  x${(us / base).toFixed(2)}  (+${(us - base).toFixed(3)} us)`);
}
if (sink === -1) console.log(sink);
