import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLaunch, LaunchError } from '../../../extension/debug/launch-args';
import { checkNetem } from '../../../extension/debug/request-validation';
import { VmRuntime } from '../../../extension/runtime/vm-runtime';
import { FakeMachine, fakeFactory, launchPlan, TX_UDP } from '../runtime/fake-machine';
import * as P from '../pipeline/packets';
import { isConditionsBody } from '../../../extension/ui/event-guards';

test('launch.json conditions and netemSeed are checked, a bad rule refused with its index and column', () => {
  assert.deepEqual(planLaunch({ conditions: ['udp_input: loss 100%'], netemSeed: 9 }).netem, { rules: ['udp_input: loss 100%'], seed: 9 });
  assert.equal(planLaunch({}).netem, undefined);
  assert.throws(() => planLaunch({ conditions: ['tcp_input: loss 5%', 'udp_input: los 5%'] }), (e: unknown) =>
    e instanceof LaunchError && /^launch attribute 'conditions\[1\]' \("udp_input: los 5%"\): unknown action 'los' .* at column 12$/.test(e.message));
  assert.throws(() => planLaunch({ netemSeed: -1 }), /'netemSeed' must be a whole number/);
  assert.throws(() => planLaunch({ conditions: 'udp_input: loss 5%' as unknown as string[] }), /must be a list of rules/);
});

test('the launch plan\'s conditions act from the start; the Debug Console lists, adds, removes and clears them', async () => {
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  await rt.start(launchPlan({ netem: { rules: ['udp_input: loss 100%'], seed: 5 } }));
  machine.send(P.udpData, TX_UDP);
  assert.equal(machine.delivered.length, 0, 'lost at udp_input');
  assert.equal(machine.probes.drops.count('netem-loss', 'udp_input'), 1);
  assert.match(rt.evaluate('netem').result, /network conditions \(seed 5\):\n  #1 udp_input: loss 100%\n     matched 1 dropped 1/);

  assert.equal(rt.evaluate('netem del 1').result, 'removed #1');
  machine.send(P.udpData, TX_UDP);
  assert.equal(machine.delivered.length, 1);

  assert.match(rt.evaluate('netem add udp_input if udp.dstport == 9999: duplicate 100%').result, /^#2 udp_input if udp.dstport == 9999: duplicate 100%$/);
  machine.send(P.udpData, TX_UDP);
  assert.equal(machine.delivered.length, 3, 'the datagram and its copy');
  assert.throws(() => rt.evaluate('netem add udp_input: loss'), /netem add: expected a probability after loss, e.g. 5% at column 16 of the rule/);
  assert.throws(() => rt.evaluate('netem frobnicate'), /unknown command 'frobnicate'/);
  assert.equal(rt.evaluate('netem clear').result, 'removed 1 rule(s)');
  assert.equal(machine.probes.probes.udp_input.armed, false);
  await rt.terminate();
});

test('the usernet.netem request adds and clears while the VM runs, and its arguments are checked', async () => {
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  assert.throws(() => rt.netemRequest({ action: 'add', rule: 'udp_input: loss 5%' }), /the VM is not running/);
  await rt.start(launchPlan());
  const body = rt.netemRequest({ action: 'add', rule: 'udp_input: delay 50ms' });
  assert.deepEqual(body.rules.map((r) => [r.id, r.stage, r.text]), [[1, 'udp_input', 'udp_input: delay 50ms']]);
  assert.throws(() => rt.netemRequest({ action: 'remove', id: 7 }), /no network condition #7/);
  assert.deepEqual(rt.netemRequest({ action: 'clear' }).rules, []);
  assert.deepEqual(checkNetem({ action: 'add', rule: 'x' }), { ok: true, args: { action: 'add', rule: 'x' } });
  assert.equal(checkNetem({ action: 'add' }).ok, false);
  assert.equal(checkNetem({ action: 'remove', id: 0 }).ok, false);
  assert.equal(checkNetem({ action: 'drop-table' }).ok, false);
  assert.equal(checkNetem({ action: 'add', rule: 'x'.repeat(5000) }).ok, false);
  await rt.terminate();
});

test('the extension takes the conditions of a stages event only when they are well formed', () => {
  const good = { seed: 3, rules: [{ id: 1, text: 'udp_input: loss 5%', stage: 'udp_input', counters: { matched: 2, dropped: 1 } }] };
  assert.equal(isConditionsBody(good), true);
  assert.equal(isConditionsBody({ seed: 3, rules: [{ ...good.rules[0], counters: { matched: 'lots' } }] }), false);
  assert.equal(isConditionsBody({ seed: 3, rules: new Array(65).fill(good.rules[0]) }), false);
  assert.equal(isConditionsBody({ rules: [] }), false);
});

test("a launched profile's netem directives come first; launch.json's conditions add to them and its seed wins", () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-netem-profile-'));
  const file = join(dir, 'guest.qemu');
  writeFileSync(file, '# usernet: netem=tcp_input: loss 5%\n# usernet: netem-seed=1\n-m 128\n');
  try {
    assert.deepEqual(planLaunch({ profile: file }).netem, { rules: ['tcp_input: loss 5%'], seed: 1 });
    assert.deepEqual(planLaunch({ profile: file, conditions: ['udp_input: duplicate 10%'], netemSeed: 9 }).netem,
      { rules: ['tcp_input: loss 5%', 'udp_input: duplicate 10%'], seed: 9 });
    assert.deepEqual(planLaunch({ profile: file, engine: 'qemu' }).netem, { rules: ['tcp_input: loss 5%'], seed: 1 });
  } finally {
    rmSync(dir, { recursive: true });
  }
});
