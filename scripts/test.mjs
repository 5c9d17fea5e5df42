// Runs the tests with Node's built-in runner (TypeScript through tsx).
// `node scripts/test.mjs [unit|guest|fuzz|e2e ...]` picks tiers; no argument runs unit + guest + fuzz
// (fuzz: a bounded coverage-guided run of every target, test/fuzz).
// As root, everything runs inside a private network namespace (scripts/netns-run.sh),
// so nothing a test or its guest sends can leave this machine's loopback.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'guest', 'fuzz'];
const files = [];
function collect(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
}
for (const t of tiers) collect(join('test', t));
if (!files.length) {
  console.error(`no tests found in ${tiers.join(', ')}`);
  process.exit(1);
}
// Guest tests each run a whole VM on a 2-core machine: one file at a time.
const heavy = tiers.some((t) => t !== 'unit');
const node = [process.execPath, '--import', 'tsx', '--test', `--test-concurrency=${heavy ? 1 : 2}`, ...files];
const root = process.getuid?.() === 0;
if (!root) console.error('test: not root, so no private network namespace: guest tests will be skipped (and say why)');
const [cmd, ...args] = root ? ['scripts/netns-run.sh', ...node] : node;
const r = spawnSync(cmd, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
