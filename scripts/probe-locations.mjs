// Writes dist/probe-locations.json: where each pipeline stage's probe sits in
// our TypeScript source (file relative to the repository root, 1-based line),
// so the debug adapter's call stack can point at the code a packet stopped in.
// The adapter scans the source tree itself when this file is absent (running
// from source); extension/runtime/probe-locations.ts holds the same rules.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROBE_SITE = /\bprobes\.(?:probes\.)?([a-z][a-z0-9_]*)\b/g;
// The registry and the debugger itself name every stage; they are not probe sites.
const SKIP_DIRS = new Set(['pipeline', 'runtime', 'debug', 'ui']);

function stageNames(root) {
  const text = readFileSync(join(root, 'extension/pipeline/stages.ts'), 'utf8');
  return new Set([...text.matchAll(/stage\('([a-z0-9_]+)'/g)].map((m) => m[1]));
}

export function scanProbeSites(root) {
  const stages = stageNames(root);
  const sites = [];
  const walk = (dir, top) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (!(top && SKIP_DIRS.has(name))) walk(p, false);
      } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        const lines = readFileSync(p, 'utf8').split('\n');
        lines.forEach((line, i) => {
          for (const m of line.matchAll(PROBE_SITE)) {
            if (stages.has(m[1])) sites.push({ stage: m[1], file: relative(root, p).split(sep).join('/'), line: i + 1 });
          }
        });
      }
    }
  };
  walk(join(root, 'extension'), true);
  return sites;
}

export function writeProbeLocations(root = process.cwd()) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'dist/probe-locations.json'), JSON.stringify({ sites: scanProbeSites(root) }) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeProbeLocations();
