/**
 * Every benchmark ends the same way: a markdown table on stdout and a JSON
 * file in bench/results/ holding the table, the chart data, the raw samples
 * and how they were made (command, date, machine), so docs/benchmarks.md and
 * its charts are regenerated from committed numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';

export interface Bar {
  label: string;
  /** null: no figure (the run failed); `note` says why. */
  value: number | null;
  min?: number;
  max?: number;
  note?: string;
}

export interface Chart {
  title: string;
  unit: string;
  /** Which way is better, for the reader of the chart. */
  higherIsBetter: boolean;
  bars: Bar[];
}

export interface Table {
  headers: string[];
  rows: string[][];
}

export interface BenchResult {
  name: string;
  title: string;
  /** The command that produced this file, as typed from the repository root. */
  command: string;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverageAtStart: number[]; node: string };
  params: Record<string, unknown>;
  tables: Array<{ caption: string } & Table>;
  charts: Chart[];
  notes: string[];
  raw: unknown;
}

export const BENCH_DIR = join(__dirname, '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export function machineInfo(): BenchResult['machine'] {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
}

/** The command line that started this process, relative to the repository root. */
export function commandLine(script: string, args = process.argv.slice(2)): string {
  const root = join(BENCH_DIR, '..');
  const rel = relative(root, script);
  const needsNetns = /nic|backends|fuzz|stream-echo|serve-cpu|embedded-ping/.test(rel);
  return [needsNetns ? 'scripts/netns-run.sh' : '', 'node --import tsx', rel, ...args].filter(Boolean).join(' ');
}

export function markdownTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${t.headers.map(esc).join(' | ')} |`, `|${t.headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** Prints the tables and writes bench/results/<name>.json. */
export function publish(result: BenchResult): string {
  for (const t of result.tables) {
    process.stdout.write(`\n${t.caption}\n\n${markdownTable(t)}\n`);
  }
  for (const n of result.notes) process.stdout.write(`\n- ${n}`);
  process.stdout.write('\n');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${relative(process.cwd(), file)}\n`);
  return file;
}

/** Progress lines on stderr, so stdout stays the report. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Runs a benchmark's main(): when it finishes, exits with the code it set (0 by
 * default; a VM or socket left open must not keep the process alive); when it
 * throws, prints the error and exits with `failureCode`.
 */
export function runBench(main: () => Promise<void>, failureCode = 1): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e) => {
      console.error(e);
      process.exit(failureCode);
    },
  );
}
