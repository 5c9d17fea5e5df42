/**
 * Runs one fuzz target in a worker and watches it: a crash comes back from the
 * worker with its input; a hang (no input finished for `hangSeconds`) is found
 * here, the worker stopped and the input read from the memory it shares. Either
 * is written to `artifacts` as crash-SHA1 or hang-SHA1, as libFuzzer names them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SHARED_HEADER, type EngineOptions, type EngineReport } from './engine';

export const CORPUS_ROOT = resolve(__dirname, '../../fuzz/corpus');
export const REGRESSIONS_ROOT = resolve(__dirname, '../../fuzz/regressions');

export interface RunOptions {
  /** From buildFuzzer(). */
  bundle: { targets: string; engine: string };
  target: string;
  seconds: number;
  seed: number;
  hangSeconds: number;
  artifacts: string;
  /** Where new coverage-increasing inputs are written; none when undefined. */
  corpusOut?: string;
  onProgress?: (r: EngineReport) => void;
}

export interface RunResult extends EngineReport {
  target: string;
  seconds: number;
  /** What went wrong, and the file holding its input. */
  failure?: { kind: 'crash' | 'hang'; error: string; artifact: string };
}

const MAX_SHARED_INPUT = 1 << 20;

export function fuzzTarget(o: RunOptions): Promise<RunResult> {
  const shared = new SharedArrayBuffer(SHARED_HEADER + MAX_SHARED_INPUT);
  const counters = new Int32Array(shared, 0, 2);
  const engine: EngineOptions = { bundle: o.bundle.targets, target: o.target, seconds: o.seconds, seed: o.seed, corpusDir: join(CORPUS_ROOT, o.target), corpusOut: o.corpusOut, shared };
  const started = Date.now();
  const worker = new Worker(o.bundle.engine, { workerData: { fuzzEngine: engine } });
  const save = (kind: 'crash' | 'hang', input: Uint8Array): string => {
    mkdirSync(o.artifacts, { recursive: true });
    const file = join(o.artifacts, `${kind}-${createHash('sha1').update(input).digest('hex')}`);
    writeFileSync(file, input);
    return file;
  };
  const currentInput = () => new Uint8Array(shared, SHARED_HEADER, Atomics.load(counters, 1)).slice();
  return new Promise((resolveRun) => {
    let last = { execs: -1, at: Date.now() };
    let latest: EngineReport = { execs: 0, corpus: 0, seeds: 0, features: 0, found: 0 };
    let settled = false;
    const finish = (r: EngineReport, failure?: RunResult['failure']) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolveRun({ ...r, target: o.target, seconds: (Date.now() - started) / 1000, failure });
    };
    const watchdog = setInterval(() => {
      const execs = Atomics.load(counters, 0);
      if (execs !== last.execs) last = { execs, at: Date.now() };
      else if (Date.now() - last.at > o.hangSeconds * 1000) {
        finish({ ...latest, execs }, { kind: 'hang', error: `no input finished for ${o.hangSeconds} s`, artifact: save('hang', currentInput()) });
      }
    }, 250);
    worker.on('message', (m: { type: string; report?: EngineReport; error?: string }) => {
      if (m.type === 'progress') {
        latest = m.report!;
        o.onProgress?.(latest);
      } else if (m.type === 'done') {
        const r = m.report!;
        if (r.crash) finish(r, { kind: 'crash', error: r.crash.error, artifact: save('crash', Buffer.from(r.crash.input, 'hex')) });
        else finish(r);
      } else if (m.type === 'error') {
        finish(latest, { kind: 'crash', error: `the engine failed: ${m.error}`, artifact: save('crash', currentInput()) });
      }
    });
    // An exception thrown later by a callback of the code under test (a timer, a socket) ends the worker.
    worker.on('error', (e) => finish(latest, { kind: 'crash', error: e.stack ?? String(e), artifact: save('crash', currentInput()) }));
    worker.on('exit', (code) => {
      if (!settled) finish(latest, { kind: 'crash', error: `the worker exited with ${code}`, artifact: save('crash', currentInput()) });
    });
  });
}
