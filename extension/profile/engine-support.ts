/**
 * What each engine can run. The embedded engine is v86 with Usernet's e1000 and
 * a bundled i386 guest: it boots a kernel (bundled or -kernel), with RAM, one
 * user network on an e1000, and a serial console. Everything else needs QEMU.
 */
import type { EngineKind } from '../pipeline/stages';
import type { LineMap } from './source-range';
import type { ProfilePlan, ParsedOption, ProblemSeverity, ProfileProblem } from './plan';
import { parseOptionList } from '../slirp/option-list';


export const ENGINE_HINT = 'not supported by the embedded engine (use engine: qemu)';

/** Options the embedded engine runs; networking and serial ones also need supported values. */
export const EMBEDDED_OPTIONS: ReadonlySet<string> = new Set([
  '-kernel', '-initrd', '-append', '-m', '-netdev', '-nic', '-net', '-device', '-nographic', '-serial', '-name',
  '-no-reboot',
]);
const EMBEDDED_SERIALS = ['stdio', 'mon:stdio'];
const EMBEDDED_NIC = 'e1000';

/** Why the embedded engine cannot run this option, or undefined when it can. */
export function embeddedLimitation(option: ParsedOption): string | undefined {
  if (option.name === '') return `a disk image is ${ENGINE_HINT}`;
  if (!EMBEDDED_OPTIONS.has(option.name)) return `${option.name} is ${ENGINE_HINT}`;
  const value = option.argument?.value ?? '';
  const first = parseOptionList(value)[0];
  const head = first && first.key === '' ? first.value : '';
  switch (option.name) {
    case '-serial':
      return EMBEDDED_SERIALS.includes(value) ? undefined : `-serial ${value} is ${ENGINE_HINT}; it has one serial console (-serial stdio or mon:stdio)`;
    case '-device':
      // Only NICs reach here as interpreted devices; anything else is a device v86 lacks.
      return head === EMBEDDED_NIC ? undefined : `-device ${head || value} is ${ENGINE_HINT}; its NIC is e1000`;
    case '-netdev':
      return head === 'user' ? undefined : `-netdev ${head || value} is ${ENGINE_HINT}; it runs -netdev user`;
    case '-net':
      if (head === 'user' || head === 'none') return undefined;
      if (head === 'nic') {
        const model = parseOptionList(value).find((i) => i.key === 'model')?.value ?? EMBEDDED_NIC;
        return model === EMBEDDED_NIC ? undefined : `model=${model} is ${ENGINE_HINT}; its NIC is e1000`;
      }
      return `-net ${head || value} is ${ENGINE_HINT}`;
    case '-nic': {
      if (head === 'none') return undefined;
      if (head !== 'user') return `-nic ${head || value} is ${ENGINE_HINT}; it runs -nic user`;
      const model = parseOptionList(value).find((i) => i.key === 'model')?.value ?? EMBEDDED_NIC;
      return model === EMBEDDED_NIC ? undefined : `model=${model} is ${ENGINE_HINT}; its NIC is e1000`;
    }
    default:
      return undefined;
  }
}

/** Problems running this plan on the chosen engine. */
export function checkEngineSupport(plan: ProfilePlan, engine: EngineKind, lines: LineMap): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  const report = (code: string, severity: ProblemSeverity, message: string, option: ParsedOption): void => {
    const start = lines.offset(option.range.start);
    const end = lines.offset(option.range.end);
    problems.push({ code, severity, message, start, end, range: option.range });
  };
  for (const option of plan.options) {
    // QEMU-unknown options already carry an error; one message per token is enough.
    if (!option.info && option.name !== '') continue;
    if (engine === 'embedded') {
      const limitation = embeddedLimitation(option);
      if (limitation) report('engine-unsupported', 'warning', limitation, option);
    } else if (option.name === '-daemonize') {
      report('engine-conflict', 'error', 'Usernet runs and watches the QEMU process itself: remove -daemonize', option);
    }
  }
  return problems;
}
