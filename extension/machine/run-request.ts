/**
 * The launch plan for a command-line (or debug launch) request: reads the
 * profile file, looks at $USERNET_QEMU and the bundled guest, then lets
 * planRun decide. Errors are LaunchPlanErrors the caller shows as they are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { bundledGuest } from './guest-image';
import type { EngineKind } from '../pipeline/stages';
import { LaunchPlanError, planRun, type EngineStart, type MachineFlags } from './launch-plan';

export interface CliLaunch {
  /** --engine as typed (checked here). */
  engine?: string;
  /** --profile FILE */
  profile?: string;
  /** --qemu PATH */
  qemu?: string;
  /** Everything after `--`. */
  qemuArgs?: readonly string[];
  flags?: MachineFlags;
  snapshot?: 'use' | 'off';
  noReboot?: boolean;
  silenceLimitS?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function parseEngine(text: string | undefined, what = '--engine'): EngineKind | undefined {
  if (text === undefined) return undefined;
  if (text === 'embedded' || text === 'qemu') return text;
  throw new LaunchPlanError([`${what} must be embedded or qemu, not '${text}'`]);
}

export function planLaunchRequest(input: CliLaunch): EngineStart {
  const engine = parseEngine(input.engine);
  const cwd = input.cwd ?? process.cwd();
  const env = input.env ?? process.env;
  let profile: { file: string; text: string } | undefined;
  if (input.profile !== undefined) {
    try {
      profile = { file: input.profile, text: readFileSync(input.profile, 'utf8') };
    } catch (e) {
      throw new LaunchPlanError([`cannot read the profile ${input.profile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
    }
  }
  const guest = bundledGuest();
  return planRun({
    ...(engine ? { engine } : {}),
    ...(profile ? { profile } : {}),
    ...(input.qemuArgs ? { qemuArgs: input.qemuArgs } : {}),
    ...(input.flags ? { flags: input.flags } : {}),
    ...(input.snapshot ? { snapshot: input.snapshot } : {}),
    ...(input.noReboot ? { noReboot: true } : {}),
    ...(input.silenceLimitS !== undefined ? { silenceLimitS: input.silenceLimitS } : {}),
    ...(input.qemu ? { qemuPath: input.qemu } : {}),
    ...(env.USERNET_QEMU ? { envQemu: env.USERNET_QEMU } : {}),
    cwd,
    homeDir: homedir(),
    fileExists: existsSync,
    bundled: { bzImage: guest.bzImage, initrd: guest.initrd },
  });
}
