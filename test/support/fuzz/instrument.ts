/**
 * Builds the fuzz targets for coverage-guided runs: esbuild bundles
 * test/fuzz/targets (and the extension code under them) into one CommonJS file,
 * and istanbul-lib-instrument (Babel) adds a counter to every statement and branch
 * arm. The result is cached by the bundle's hash, so only changed code is
 * instrumented again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { createInstrumenter } from 'istanbul-lib-instrument';
import { COVERAGE_VARIABLE } from './coverage';

export const TARGETS_ENTRY = resolve(__dirname, '../../fuzz/targets/index.ts');

const ENGINE_ENTRY = resolve(__dirname, 'engine.ts');
const CACHE = join(tmpdir(), 'usernet-fuzz');

async function bundle(entry: string): Promise<string> {
  const out = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}

/** Writes `code` (or what `transform` makes of it) once per content; parallel runs never load half a file. */
function cached(name: string, code: string, transform: (code: string, file: string) => string = (c) => c): string {
  const file = join(CACHE, `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.cjs`);
  if (existsSync(file)) return file;
  mkdirSync(CACHE, { recursive: true });
  const part = `${file}.${process.pid}.part`;
  writeFileSync(part, transform(code, file));
  renameSync(part, file);
  return file;
}

/**
 * The instrumented bundle of the targets `entry` exports (every target unless
 * told), and the engine that runs them in a worker (plain JavaScript, no loader).
 */
export async function buildFuzzer(entry = TARGETS_ENTRY): Promise<{ targets: string; engine: string }> {
  const instrumenter = createInstrumenter({ coverageVariable: COVERAGE_VARIABLE, compact: true, esModules: false, produceSourceMap: false });
  const targets = cached('targets', await bundle(entry), (code, file) => instrumenter.instrumentSync(code, file));
  const engine = cached('engine', await bundle(ENGINE_ENTRY));
  return { targets, engine };
}
