/**
 * The debug adapter as VS Code runs it (`node dist/adapter.js`, DAP over its
 * stdio), with what a guest test watches: the serial console text and the
 * VM state events.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { VmStateBody } from '../../extension/debug/protocol';
import { PipedDebugClient } from '../unit/debug/piped-client';

const ADAPTER = resolve(__dirname, '../../dist/adapter.js');

export interface AdapterProcess {
  readonly child: ChildProcess;
  readonly dc: DebugClient;
  /** Everything the guest wrote to its serial console so far. */
  serial(): string;
  /** The usernet.vmState events so far, oldest first. */
  readonly states: VmStateBody[];
}

export function spawnAdapter(): AdapterProcess {
  assert.ok(existsSync(ADAPTER), `${ADAPTER} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [ADAPTER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const dc = new PipedDebugClient().attach(child.stdout!, child.stdin!);
  dc.defaultTimeout = 300_000;
  let serial = '';
  const states: VmStateBody[] = [];
  dc.on('usernet.serial', (e: DebugProtocol.Event) => (serial += Buffer.from(e.body.data, 'base64').toString('latin1')));
  dc.on('usernet.vmState', (e: DebugProtocol.Event) => states.push(e.body));
  return { child, dc, serial: () => serial, states };
}

/** Waits for `ok`, failing with the tail of the serial console. */
export async function waitFor(adapter: Pick<AdapterProcess, 'serial'>, what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the serial console shows:\n${adapter.serial().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The adapter a test file's tests share: the first test starts it, the last
 * disconnects it; whatever is left running when the file ends is killed.
 */
export class SharedAdapter {
  current: AdapterProcess | undefined;

  constructor() {
    after(() => this.current?.child.kill());
  }

  start(): AdapterProcess {
    this.current = spawnAdapter();
    return this.current;
  }

  /** The DAP client of the adapter the first test started. */
  get dc(): DebugClient {
    assert.ok(this.current, 'the adapter of the first test');
    return this.current.dc;
  }

  get states(): VmStateBody[] {
    return this.current?.states ?? [];
  }

  serial(): string {
    return this.current?.serial() ?? '';
  }

  /** Disconnects, terminating the VM, and waits for the adapter process to exit: its exit code and the last VM state it reported. */
  async disconnect(): Promise<{ exitCode: number | null; lastState: string | undefined }> {
    assert.ok(this.current, 'the adapter of the first test');
    const proc = this.current.child;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    await this.dc.disconnectRequest({ terminateDebuggee: true });
    const exitCode = await exited;
    const lastState = this.states.at(-1)?.state;
    this.current = undefined;
    return { exitCode, lastState };
  }
}
