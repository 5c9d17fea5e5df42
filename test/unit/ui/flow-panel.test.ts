import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from 'vscode';
import type { FlowSnapshot } from '../../../extension/pipeline/flow/record';
import { FlowViews } from '../../../extension/ui/flow-panel';
import type { FlowSource } from '../../../extension/ui/flow-source';
import { fake, type FakeWebviewPanel } from '../../support/vscode-fake';
import { advance, MemoryLog } from './helpers';

/** Lets the panel's awaited reads settle (setTimeout is mocked here). */
const tick = () => new Promise<void>((r) => setImmediate(r));

beforeEach(() => fake.reset());

const endpoints = { protocol: 'tcp', guest: '10.0.2.15:40000', slirp: '10.0.2.2:80', host: '127.0.0.1:80' } as const;

/** A live flow that records what the view asks for; `closed` ends it. */
function liveSource() {
  const reads: number[] = [];
  let closed = false;
  const source: FlowSource = {
    live: true,
    endpoints,
    read: async (from): Promise<FlowSnapshot> => {
      reads.push(from);
      return { endpoints, items: [], next: 0, forgotten: 0, closed, state: 'ESTABLISHED' };
    },
    detail: async () => ({ fields: {} }),
    filter: async () => [],
  };
  return { source, reads, close: () => (closed = true) };
}

test('a hidden live flow view keeps telling the recorder it is open (a read of nothing every 2 s), and polls again once shown', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const views = new FlowViews(vscode.Uri.file('/ext'), new MemoryLog());
  const { source, reads, close } = liveSource();
  views.show('Flow: x', source);
  const panel = fake.panels.at(-1) as FakeWebviewPanel;
  panel.webview.send({ type: 'ready' });
  await tick();
  assert.deepEqual(reads, [0], 'the page loaded: read from the start');
  advance(t, 300);
  await tick();
  assert.deepEqual(reads, [0, 0], 'visible: polled');

  panel.setVisible(false);
  advance(t, 1000);
  await tick();
  assert.equal(reads.length, 2, 'hidden: no poll');
  advance(t, 1000);
  await tick();
  assert.deepEqual(reads.slice(2), [Number.MAX_SAFE_INTEGER], 'a read of nothing, so the flow is still recorded whole');
  advance(t, 2000);
  await tick();
  assert.equal(reads.length, 4);

  close();
  advance(t, 2000);
  await tick();
  advance(t, 10_000);
  await tick();
  assert.equal(reads.length, 5, 'the flow is over: no more keep-alive reads');
  panel.setVisible(true);
  advance(t, 300);
  await tick();
  assert.deepEqual(reads.slice(5), [0], 'shown again: it polls and reads the flow\'s end');
  views.dispose();
});
