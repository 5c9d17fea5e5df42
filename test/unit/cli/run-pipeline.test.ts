/**
 * `usernet run`'s pipeline tools over a simulated VM: the network conditions
 * of --netem are the runtime's, so the breakpoint prompt (its other face)
 * lists them, as the Debug Console's `netem` does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parsePipelineOptions } from '../../../extension/cli/pipeline-options';
import { RunPipeline } from '../../../extension/cli/pipeline-tools';
import { FakeMachine, TX_UDP } from '../runtime/fake-machine';
import * as P from '../pipeline/packets';

test('print netem at the --break prompt lists the conditions --netem imposed, with their seed and counters', async (t) => {
  // The control socket (`usernet sessions`) goes to a directory of the test's own.
  const dir = mkdtempSync(join(tmpdir(), 'usernet-run-pipeline-'));
  const oldDir = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = dir;
  t.after(() => {
    if (oldDir === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = oldDir;
    rmSync(dir, { recursive: true, force: true });
  });
  const plan = parsePipelineOptions({ break: ['udp_input'], netem: ['sosendto: loss 100%'], 'netem-seed': '7' });
  const stdin = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const pipeline = new RunPipeline(plan, { exec: false, stdin: stdin as unknown as NodeJS.ReadStream, stderr });
  const vm = new FakeMachine();
  await pipeline.attach({ probes: vm.probes, clock: vm.clock, slirp: undefined, get paused() { return vm.paused; }, pause: () => vm.pause(), resume: () => vm.resume() });
  t.after(() => pipeline.close());
  assert.match(err, /usernet: network conditions \(replay with --netem-seed 7\): sosendto: loss 100%\n/);

  vm.send(P.udpData, TX_UDP);
  stdin.write('print netem\ncontinue\n');
  for (let i = 0; i < 400 && !/\(usernet\) continue/.test(err); i++) await new Promise((r) => setTimeout(r, 5));
  assert.match(err, /Breakpoint 1, udp_input: /);
  assert.match(err, /\(usernet\) print netem\nnetem = network conditions \(seed 7\):\n {2}#1 sosendto: loss 100%\n {5}matched 0 dropped 0 /);
  // Released, the packet met the rule at sosendto: the conditions that act are the ones listed.
  assert.equal(vm.delivered.length, 0, 'the rule dropped the packet at sosendto');
});
