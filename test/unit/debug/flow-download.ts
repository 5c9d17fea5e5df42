/**
 * A download recorded as a flow: the real Slirp and TCP stack, a synthetic
 * guest (test/unit/slirp/tcp/support), a loopback server, and the journey and
 * flow recorders on from the start. Shared by the recorder's and the views' tests.
 */
import { DEFAULT_FLOW_LIMITS, FlowRecorder, type FlowLimits } from '../../../extension/debug/flow-recorder';
import { JourneyRecorder } from '../../../extension/pipeline/journey-recorder';
import { pattern } from '../slirp/tcp/support/harness';
import { HostServer } from '../slirp/tcp/support/host-server';
import { SlirpGuest } from '../slirp/tcp/support/slirp-guest';

/** `lose(segment)` drops chosen guest segments before the slirp sees them (to cause retransmissions). */
export async function download(bytes: number, limits: FlowLimits = DEFAULT_FLOW_LIMITS, lose?: (segment: Uint8Array) => boolean) {
  const server = new HostServer((s) => s.end(pattern(bytes, 3)));
  const port = await server.start();
  const net = new SlirpGuest();
  if (lose) net.dropFromGuest = lose;
  const journeys = new JourneyRecorder(net.slirp.probes, { clock: net.clock, engine: 'qemu' });
  const flows = new FlowRecorder(net.slirp.nat, net.clock, limits);
  const stopJourneys = journeys.start();
  const stopFlows = flows.start(journeys, net.slirp.probes);
  const g = net.connect(port, { mss: 1460, timestamps: true });
  await net.run(() => g.finReceived, 'the download');
  g.end();
  await net.run(() => net.slirp.nat.size === 0, 'the session closes', 120_000);
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

