/**
 * The breakpoint prompt over a simulated pipeline, driving the debug runtime
 * as `usernet run` does: commands come through a pipe as a script would send
 * them; the fake VM counts pauses and resumes.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { BreakpointPrompt } from '../../../extension/cli/break-prompt';
import { parseBreakSpec } from '../../../extension/cli/pipeline-options';
import { LineInput } from '../../../extension/cli/prompt-input';
import { VmRuntime } from '../../../extension/runtime/vm-runtime';
import { FakeMachine } from '../runtime/fake-machine';
import * as P from '../pipeline/packets';
import { PipelineSim, TX_TCP } from '../pipeline/pipeline-sim';

function setup(breaks: string[], onEnd: 'quit' | 'delete' = 'delete') {
  const vm = new FakeMachine();
  const hub = vm.probes;
  const sim = new PipelineSim(hub);
  const calls: string[] = [];
  const [pause, resume] = [vm.pause.bind(vm), vm.resume.bind(vm)];
  vm.pause = async () => {
    calls.push('pause');
    await pause();
  };
  vm.resume = async () => {
    calls.push('resume');
    await resume();
  };
  const runtime = new VmRuntime({ startMachine: async () => vm });
  runtime.adopt(vm, 'embedded');
  const stdin = new PassThrough();
  let out = '';
  const prompt = new BreakpointPrompt(runtime, breaks.map(parseBreakSpec), { input: new LineInput(stdin, new PassThrough()), write: (t) => (out += t), onEnd });
  return {
    hub, sim, vm, calls, prompt, stdin, runtime,
    get out() { return out; },
    type: (text: string) => stdin.write(text),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test('a conditional stop pauses the VM; print reads the packet; continue releases it and resumes', async () => {
  const t = setup(['tcp_input if tcp.dstport == 80']);
  t.sim.send(P.syn, TX_TCP); // to 8080: no stop
  assert.deepEqual(t.calls, []);
  assert.equal(t.sim.ran.filter((s) => s === 'sosend').length, 1);
  t.sim.send(P.httpGet, TX_TCP);
  assert.deepEqual(t.calls, ['pause']);
  assert.match(t.out, /Breakpoint 1, tcp_input: 10\.0\.2\.15:40001 -> 93\.184\.216\.34:80 TCP \[PSH, ACK\]/);
  assert.equal(t.sim.ran.filter((s) => s === 'sosend').length, 1, 'the held packet has not reached sosend');
  // The prompt's stop is the runtime's, as the debug adapter would show it.
  assert.equal(t.runtime.stop?.event?.hit.stage, 'tcp_input');
  assert.equal(t.runtime.stop?.breakpointId, 1);
  assert.deepEqual(t.runtime.stop?.journey?.steps.map((s) => s.stage).slice(-2), ['ip_input', 'tcp_input']);
  t.type('print tcp.dstport\nx\nbogus\n');
  await until(() => /error: unknown command 'bogus'/.test(t.out), 'the answers');
  assert.match(t.out, /tcp\.dstport = 80\n/);
  assert.match(t.out, /^0000  52 55 0a 00 02 02/m);
  assert.ok(t.vm.paused);
  t.type('continue\n');
  await until(() => t.calls.length === 2, 'the resume');
  assert.deepEqual(t.calls, ['pause', 'resume']);
  assert.equal(t.sim.ran.filter((s) => s === 'sosend').length, 2, 'continue let the packet go on');
  assert.equal(t.runtime.stop, undefined);
  assert.equal(t.runtime.vmState, 'running');
  assert.equal(t.prompt.active, false);
  t.prompt.dispose();
});

test('next moves the held packet one stage; a packet released into another breakpoint keeps the VM paused', async () => {
  const t = setup(['ip_input', 'sosend']);
  t.sim.send(P.httpGet, TX_TCP);
  assert.match(t.out, /Breakpoint 1, ip_input/);
  t.type('next\n');
  await until(() => /Step, tcp_input/.test(t.out), 'the step');
  t.type('info\n');
  await until(() => /stage chain:/.test(t.out), 'info');
  assert.match(t.out, /stage chain: e1000_mmio_write > start_xmit > process_tx_desc > e1000_send_packet > qemu_send_packet > net_slirp_receive > slirp_input > ip_input > tcp_input/);
  t.type('c\n');
  await until(() => /Breakpoint 2, sosend/.test(t.out), 'the second breakpoint');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(t.calls.filter((c) => c === 'resume'), [], 'the VM never ran between the stops');
  t.type('info breakpoints\nc\n');
  await until(() => t.calls.includes('resume'), 'the resume');
  assert.match(t.out, /^1 +1  ip_input$/m);
  assert.match(t.out, /^2 +1  sosend$/m);
  t.prompt.dispose();
});

test('delete removes every breakpoint and lets the VM run on', async () => {
  const t = setup(['tcp_input']);
  t.sim.send(P.syn, TX_TCP);
  t.type('delete\n');
  await until(() => t.calls.includes('resume'), 'the resume');
  t.sim.send(P.httpGet, TX_TCP);
  assert.equal(t.hub.heldPackets.length, 0);
  assert.equal(t.sim.ran.filter((s) => s === 'sosend').length, 2);
  assert.equal(t.out.match(/Breakpoint/g)?.length, 1);
  t.prompt.dispose();
});

test('quit asks the run to end with the packet still held', async () => {
  const t = setup(['tcp_input']);
  let quit = false;
  void t.prompt.quitRequested.then(() => (quit = true));
  t.sim.send(P.syn, TX_TCP);
  t.type('q\n');
  await until(() => quit, 'the quit');
  assert.equal(t.hub.heldPackets.length, 1);
  assert.deepEqual(t.calls, ['pause']);
  t.prompt.dispose();
});

test('the end of a piped script deletes the breakpoints and resumes; the end of a terminal quits', async () => {
  const piped = setup(['tcp_input']);
  piped.sim.send(P.syn, TX_TCP);
  piped.type('p tcp.srcport\n');
  piped.stdin.end();
  await until(() => piped.calls.includes('resume'), 'the resume');
  assert.match(piped.out, /tcp\.srcport = 40000\n[\s\S]*no more prompt input: breakpoints deleted/);
  piped.sim.send(P.syn, TX_TCP);
  assert.equal(piped.hub.heldPackets.length, 0);
  piped.prompt.dispose();

  const tty = setup(['tcp_input'], 'quit');
  let quit = false;
  void tty.prompt.quitRequested.then(() => (quit = true));
  tty.sim.send(P.syn, TX_TCP);
  tty.stdin.end();
  await until(() => quit, 'the quit');
  tty.prompt.dispose();
});

test('commands typed before a stop wait for it', async () => {
  const t = setup(['tcp_input']);
  t.type('p tcp.dstport\ncontinue\n');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(t.out, '');
  t.sim.send(P.syn, TX_TCP);
  await until(() => t.calls.includes('resume'), 'the resume');
  assert.match(t.out, /tcp\.dstport = 8080/);
  t.prompt.dispose();
});
