// Runs the tests with Node's built-in runner (TypeScript through tsx).
// `node scripts/test.mjs [unit|guest|e2e ...]` picks tiers; no argument runs unit + guest.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'guest'];
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
if (!files.length) { console.error(`no tests found in ${tiers.join(', ')}`); process.exit(1); }
// Guest tests share two cores: run files one at a time there.
const concurrency = tiers.includes('guest') || tiers.includes('e2e') ? '1' : String(2);
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' });
process.exit(r.status ?? 1);
