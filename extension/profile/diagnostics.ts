/**
 * Everything wrong with a profile, as LSP-shaped diagnostics pointing at the
 * exact token (or the exact suboption inside it). Headless: the language server,
 * the CLI and the launcher all call this.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseProfile } from './parser';
import { validatePlan } from './validate';
import type { EngineKind } from '../pipeline/stages';
import { checkEngineSupport } from './engine-support';
import { findEngineDirective } from './engine-directive';
import { DIRECTIVE_KEYS, usernetDirectives } from './directives';
import { findNetemDirectives } from './netem-directive';
import type { FileReference, ProblemSeverity, ProfileProblem } from './plan';
import type { SourceRange } from './source-range';

export interface DiagnoseOptions {
  readonly engine: EngineKind;
  /** Asked with an absolute path. */
  readonly fileExists: (path: string) => boolean;
  /** The profile's folder; relative paths resolve against it. Without it they are not checked. */
  readonly baseDir?: string;
  /** For `~/` paths; without it they are not checked. */
  readonly homeDir?: string;
}

/** LSP DiagnosticSeverity numbers. */
const SEVERITY: Record<ProblemSeverity, 1 | 2 | 3> = { error: 1, warning: 2, information: 3 };

export interface ProfileDiagnostic {
  readonly range: SourceRange;
  readonly severity: 1 | 2 | 3 | 4;
  readonly code: string;
  readonly source: 'usernet';
  readonly message: string;
}

export function diagnose(text: string, options: DiagnoseOptions): ProfileDiagnostic[] {
  const { plan, problems: parseProblems, lex } = parseProfile(text);
  const problems: ProfileProblem[] = [];
  for (const error of lex.errors) {
    problems.push({ code: error.code, severity: 'error', message: error.message, start: error.start, end: error.end, range: error.range });
  }
  const atText = (code: string, severity: ProblemSeverity, message: string, start: number, end: number): void => {
    problems.push({ code, severity, message, start, end, range: lex.lines.range(start, end) });
  };
  const engineError = findEngineDirective(lex)?.error;
  if (engineError) atText('unknown-engine', 'error', engineError.message, engineError.start, engineError.end);
  for (const p of findNetemDirectives(lex).problems) atText(p.code, 'error', p.message, p.start, p.end);
  for (const d of usernetDirectives(lex)) {
    if (DIRECTIVE_KEYS.some((k) => k.name === d.key)) continue;
    const known = DIRECTIVE_KEYS.map((k) => `${k.name}=`).join(', ');
    atText('unknown-directive', 'warning', `unknown directive "${d.key}": Usernet knows ${known}`, d.keyStart, d.keyStart + d.key.length);
  }
  problems.push(...parseProblems);
  problems.push(...validatePlan(plan, lex.lines));
  for (const file of plan.files) {
    const missing = missingFile(file, options);
    if (missing) problems.push({ code: 'file-not-found', severity: 'error', message: missing, start: file.start, end: file.end, range: file.range });
  }
  problems.push(...checkEngineSupport(plan, options.engine, lex.lines));

  problems.sort((a, b) => a.start - b.start || a.end - b.end);
  return problems.map((p) => ({ range: p.range, severity: SEVERITY[p.severity], code: p.code, source: 'usernet', message: p.message }));
}

/** Paths QEMU opens through a protocol (nbd:, http:, json:...) are not files to look for. */
const PROTOCOL_PATH = /^[A-Za-z][A-Za-z0-9+.-]+:/;

export function resolveProfilePath(path: string, baseDir: string | undefined, homeDir: string | undefined): string | undefined {
  if (path === '~' || path.startsWith('~/')) return homeDir ? resolve(homeDir, path.slice(2)) : undefined;
  if (isAbsolute(path)) return path;
  return baseDir ? resolve(baseDir, path) : undefined;
}

function missingFile(file: FileReference, options: DiagnoseOptions): string | undefined {
  if (file.path === '' || PROTOCOL_PATH.test(file.path)) return undefined;
  const resolved = resolveProfilePath(file.path, options.baseDir, options.homeDir);
  if (resolved === undefined || options.fileExists(resolved)) return undefined;
  const what = file.role === 'drive' ? 'disk image' : file.role;
  const where = isAbsolute(file.path) ? '' : ` (relative paths start at the profile's folder: ${resolved})`;
  return `${what} not found: ${file.path}${where}`;
}
