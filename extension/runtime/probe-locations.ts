/**
 * Where each stage's probe sits in our TypeScript source, for the call stack
 * of a held packet. The build writes dist/probe-locations.json (by
 * scripts/probe-locations.mjs); running from source, the tree is scanned here
 * with the same rules.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { isStageName, type StageName } from '../pipeline/stages';

export interface ProbeSite {
  readonly stage: StageName;
  /** Relative to the repository root, with '/' separators. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
}

const PROBE_SITE = /\bprobes\.(?:probes\.)?([a-z][a-z0-9_]*)\b/g;
/** The registry and the debugger name every stage without being probe sites. */
const SKIP_DIRS = new Set(['pipeline', 'runtime', 'debug', 'ui']);

export function scanProbeSites(root: string): ProbeSite[] {
  const sites: ProbeSite[] = [];
  const walk = (dir: string, top: boolean) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (!(top && SKIP_DIRS.has(name))) walk(p, false);
      } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          for (const m of line.matchAll(PROBE_SITE)) {
            const stage = m[1]!;
            if (isStageName(stage)) sites.push({ stage, file: relative(root, p).split(sep).join('/'), line: i + 1 });
          }
        });
      }
    }
  };
  walk(join(root, 'extension'), true);
  return sites;
}

/** The first site of each stage (a stage probed in two places points at the first). */
export class ProbeLocations {
  private readonly byStage = new Map<StageName, ProbeSite>();

  constructor(readonly sites: readonly ProbeSite[], readonly root: string | undefined) {
    for (const s of sites) if (!this.byStage.has(s.stage)) this.byStage.set(s.stage, s);
  }

  of(stage: StageName): ProbeSite | undefined {
    return this.byStage.get(stage);
  }

  /**
   * dist/probe-locations.json beside the bundle when present, else a scan of
   * the source tree found above `fromDir`; empty when neither exists.
   */
  static load(fromDir: string): ProbeLocations {
    const root = findSourceRoot(fromDir);
    const json = join(fromDir, 'probe-locations.json');
    if (existsSync(json)) {
      try {
        const parsed = JSON.parse(readFileSync(json, 'utf8')) as { sites?: unknown };
        if (Array.isArray(parsed.sites)) return new ProbeLocations(parsed.sites.filter(isProbeSite), root);
      } catch {
        // A damaged file is no worse than a missing one: fall back to scanning.
      }
    }
    return new ProbeLocations(root ? scanProbeSites(root) : [], root);
  }
}

function isProbeSite(v: unknown): v is ProbeSite {
  const o = v as Record<string, unknown>;
  return typeof o === 'object' && o !== null && typeof o.stage === 'string' && isStageName(o.stage) &&
    typeof o.file === 'string' && Number.isSafeInteger(o.line);
}

/** The nearest directory at or above `dir` that holds our source tree. */
export function findSourceRoot(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'extension/pipeline/stages.ts'))) return d;
    if (dirname(d) === d) return undefined;
  }
}
