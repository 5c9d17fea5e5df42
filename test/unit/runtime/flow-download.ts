/**
 * A download recorded as a flow: the real Slirp and TCP stack, a synthetic
 * guest (test/unit/slirp/tcp/support), a loopback server, and the journey and
 * flow recorders on from the start. Shared by the recorder's and the views' tests.
 */
import { DEFAULT_FLOW_LIMITS, FlowRecorder, type FlowLimits } from '../../../extension/runtime/flow-recorder';
import { JourneyRecorder } from '../../../extension/pipeline/journey-recorder';
import { pattern } from '../slirp/tcp/support/harness';
import { HostServer } from '../slirp/tcp/support/host-server';
import { SlirpGuest } from '../slirp/tcp/support/slirp-guest';

/** Every flow kept whole, as if a view read it all along. */
export const WHOLE_FLOWS: FlowLimits = { ...DEFAULT_FLOW_LIMITS, tail: Number.MAX_SAFE_INTEGER };

/**
 * `lose(segment)` drops chosen guest segments before the slirp sees them (to
 * cause retransmissions); `read` reads every flow as the download goes, as an
 * open flow view does.
 */
export async function download(bytes: number, limits: FlowLimits = WHOLE_FLOWS, lose?: (segment: Uint8Array) => boolean, read = false) {
  const server = new HostServer((s) => s.end(pattern(bytes, 3)));
  const port = await server.start();
  const net = new SlirpGuest();
  if (lose) net.dropFromGuest = lose;
  const journeys = new JourneyRecorder(net.slirp.probes, { clock: net.clock, engine: 'qemu' });
  const flows = new FlowRecorder(net.slirp.nat, net.clock, limits);
  const stopJourneys = journeys.start();
  const stopFlows = flows.start(journeys, net.slirp.probes);
  const g = net.connect(port, { mss: 1460, timestamps: true });
  const reading = (done: () => boolean) => () => {
    if (read) for (const id of flows.sessionIds) flows.snapshot(id, Number.MAX_SAFE_INTEGER);
    return done();
  };
  await net.run(reading(() => g.finReceived), 'the download');
  g.end();
  await net.run(reading(() => net.slirp.nat.size === 0), 'the session closes', 120_000);
  journeys.flush();
  const id = flows.sessionIds[0]!;
  const done = async () => {
    stopFlows();
    stopJourneys();
    await net.close();
    await server.stop();
  };
  return { flows, id, port, done };
}

