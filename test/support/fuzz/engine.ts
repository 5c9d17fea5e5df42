/**
 * The coverage-guided loop, run inside a worker on the instrumented bundle:
 * every seed runs first, then mutants of corpus entries; a mutant that reaches
 * new coverage joins the corpus (and is written to `corpusOut`, if given); the
 * first input that breaks a rule ends the run as a crash. Before each input its
 * bytes go into shared memory and a counter moves after it, so the parent can
 * name the input of a hang and stop the worker.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { FuzzInstance, FuzzTarget } from '../../fuzz/targets/target';
import { ByteMutator } from './byte-mutator';
import { COVERAGE_VARIABLE, CoverageMap } from './coverage';

export interface EngineOptions {
  bundle: string;
  target: string;
  seconds: number;
  seed: number;
  corpusDir: string;
  corpusOut?: string;
  /** Shared with the parent: [0] inputs run, [1] the current input's length; its bytes after. */
  shared: SharedArrayBuffer;
}

export interface EngineReport {
  execs: number;
  corpus: number;
  seeds: number;
  features: number;
  /** New coverage found after the seeds ran. */
  found: number;
  crash?: { input: string; error: string };
}

/** A fresh instance every this many inputs keeps history (sessions, leases, timers) bounded. */
const REOPEN_EVERY = 2000;
/** Inputs run between two turns of the event loop (socket callbacks, timers). */
const BATCH = 50;
export const SHARED_HEADER = 8;

export function loadCorpus(dir: string): Uint8Array[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((n) => new Uint8Array(readFileSync(join(dir, n))));
}

export async function runEngine(o: EngineOptions, progress: (r: EngineReport) => void): Promise<EngineReport> {
  // The bundle is CommonJS written for this run: required, not imported, so its counters stay in this worker.
  const { targets } = require(o.bundle) as { targets: Record<string, FuzzTarget> };
  const target = targets[o.target];
  if (!target) throw new Error(`no fuzz target '${o.target}'`);
  const counters = new Int32Array(o.shared, 0, 2);
  const current = new Uint8Array(o.shared, SHARED_HEADER);
  const dictionary = (target.dictionary ?? []).map((w) => Uint8Array.from(w));
  const mutator = new ByteMutator(o.seed, dictionary);
  const seeds = loadCorpus(o.corpusDir);
  const corpus: Uint8Array[] = seeds.length ? [...seeds] : [new Uint8Array(0)];
  let instance: FuzzInstance = await target.open();
  const coverage = new CoverageMap((globalThis as Record<string, unknown>)[COVERAGE_VARIABLE] as never);
  const report: EngineReport = { execs: 0, corpus: corpus.length, seeds: seeds.length, features: 0, found: 0 };
  let sinceOpen = 0;

  const runOne = (input: Uint8Array): boolean => {
    const len = Math.min(input.length, current.length);
    current.set(input.subarray(0, len));
    Atomics.store(counters, 1, len);
    try {
      instance.run(input);
    } catch (e) {
      report.crash = { input: Buffer.from(input).toString('hex'), error: (e as Error)?.stack ?? String(e) };
      return false;
    }
    Atomics.add(counters, 0, 1);
    report.execs++;
    sinceOpen++;
    return true;
  };

  const deadline = Date.now() + o.seconds * 1000;
  const queue = corpus.slice();
  let lastProgress = Date.now();
  while (!report.crash) {
    for (let k = 0; k < BATCH && !report.crash; k++) {
      const fromSeeds = queue.length > 0;
      const input = fromSeeds ? queue.shift()! : mutator.mutate(corpus[mutator.below(corpus.length)]!, corpus, target.maxLength);
      if (!runOne(input)) break;
      const fresh = coverage.collect();
      if (fresh > 0 && !fromSeeds) {
        report.found += fresh;
        corpus.push(input);
        if (o.corpusOut) {
          mkdirSync(o.corpusOut, { recursive: true });
          writeFileSync(join(o.corpusOut, createHash('sha1').update(input).digest('hex')), input);
        }
      }
    }
    if (sinceOpen >= REOPEN_EVERY) {
      await instance.close();
      instance = await target.open();
      sinceOpen = 0;
    }
    await new Promise((r) => setImmediate(r));
    report.corpus = corpus.length;
    report.features = coverage.features;
    if (Date.now() - lastProgress > 2000) {
      lastProgress = Date.now();
      progress({ ...report });
    }
    if (queue.length === 0 && Date.now() >= deadline) break;
  }
  await instance.close();
  report.corpus = corpus.length;
  report.features = coverage.features;
  return report;
}

if (parentPort && workerData?.fuzzEngine) {
  const port = parentPort;
  runEngine(workerData.fuzzEngine as EngineOptions, (r) => port.postMessage({ type: 'progress', report: r })).then(
    (r) => port.postMessage({ type: 'done', report: r }),
    (e: unknown) => port.postMessage({ type: 'error', error: (e as Error)?.stack ?? String(e) }),
  );
}
