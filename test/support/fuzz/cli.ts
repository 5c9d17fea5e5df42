/**
 * `npm run fuzz`: coverage-guided fuzzing of every target (or --target NAME),
 * --seconds each, in the private network namespace. New coverage-increasing
 * inputs go to .fuzz/TARGET/corpus (or, with --grow, into the checked-in seed
 * corpus); a crash or hang is written to .fuzz/TARGET/ and the run exits 1.
 * --replay FILE runs one input through a target without instrumentation.
 *
 *   npm run fuzz -- [--seconds 600] [--target dhcp]... [--seed N] [--grow]
 *   npm run fuzz -- --target dhcp --replay .fuzz/dhcp/crash-SHA1
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { targets } from '../../fuzz/targets';
import { containmentProblem } from '../containment';
import { buildFuzzer } from './instrument';
import { CORPUS_ROOT, fuzzTarget } from './runner';

const ARTIFACTS = resolve(__dirname, '../../../.fuzz');

async function replay(name: string, file: string): Promise<number> {
  const target = targets[name];
  if (!target) throw new Error(`no fuzz target '${name}'`);
  const instance = await target.open();
  try {
    instance.run(new Uint8Array(readFileSync(file)));
    console.log(`${name}: ${file} runs cleanly`);
    return 0;
  } catch (e) {
    console.error(`${name}: ${file} fails: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    await instance.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      target: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'hang-seconds': { type: 'string', default: '10' },
      grow: { type: 'boolean', default: false },
      replay: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const [name, t] of Object.entries(targets)) console.log(`${name.padEnd(15)} ${t.about}`);
    return 0;
  }
  const names = values.target ?? Object.keys(targets);
  for (const n of names) if (!targets[n]) throw new Error(`no fuzz target '${n}' (--list shows them)`);
  const problem = containmentProblem();
  if (problem) throw new Error(`refusing to fuzz outside a private network namespace: ${problem}. Run it through npm run fuzz (scripts/netns-run.sh).`);
  if (values.replay) return replay(names[0]!, values.replay);

  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, not '${values.seconds}'`);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 0x7fffffff;
  console.log(`fuzzing ${names.join(', ')} for ${seconds} s each, seed ${seed} (instrumenting...)`);
  const bundle = await buildFuzzer();
  let failed = 0;
  for (const name of names) {
    const r = await fuzzTarget({
      bundle,
      target: name,
      seconds,
      seed,
      hangSeconds: Number(values['hang-seconds']),
      artifacts: join(ARTIFACTS, name),
      corpusOut: values.grow ? join(CORPUS_ROOT, name) : join(ARTIFACTS, name, 'corpus'),
      onProgress: (p) => process.stderr.write(`  ${name}: ${p.execs} inputs, corpus ${p.corpus}, ${p.features} features\n`),
    });
    const rate = Math.round(r.execs / r.seconds);
    console.log(`${name}: ${r.execs} inputs (${rate}/s), ${r.seeds} seeds, corpus ${r.corpus}, ${r.features} features (${r.found} new)`);
    if (r.failure) {
      failed++;
      console.error(`${name}: ${r.failure.kind.toUpperCase()}: ${r.failure.error}\n  input: ${r.failure.artifact}\n  replay: npm run fuzz -- --target ${name} --replay ${r.failure.artifact}`);
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`fuzz: ${(e as Error).message}`);
    process.exit(2);
  },
);
