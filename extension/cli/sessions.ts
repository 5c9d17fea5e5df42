/** `usernet sessions`: the NAT table of a running `usernet run`, in `info usernet` layout. */
import { parseArgs } from 'node:util';
import { askControl, controlDir, controlSocketPath, runningVms } from './control-socket';
import { UsageError } from './usage-error';

export const SESSIONS_HELP = `usage: usernet sessions [--pid PID]

Prints the NAT table of a running 'usernet run' (as QEMU's 'info usernet'),
also while it is stopped at a breakpoint. With several VMs running, --pid
chooses one. Each run answers on ${controlDir()}/<pid>.sock.
`;

export async function sessionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { pid: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(SESSIONS_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see usernet sessions --help)`);
  let pid: number;
  const running = runningVms();
  if (values.pid !== undefined) {
    if (!/^\d+$/.test(values.pid)) throw new UsageError(`--pid expects a process id, got '${values.pid}'`);
    pid = Number(values.pid);
    if (!running.includes(pid)) {
      const others = running.length ? `running VMs: ${running.join(', ')}` : 'no VM is running';
      process.stderr.write(`usernet: process ${pid} runs no usernet VM (${others})\n`);
      return 1;
    }
  } else if (running.length === 1) {
    pid = running[0]!;
  } else if (running.length === 0) {
    process.stderr.write(`usernet: no running usernet VM (none answers in ${controlDir()}): start one with 'usernet run'\n`);
    return 1;
  } else {
    process.stderr.write(`usernet: ${running.length} VMs are running (pids ${running.join(', ')}): choose one with --pid\n`);
    return 1;
  }
  let answer: string;
  try {
    answer = await askControl(controlSocketPath(pid), 'info usernet');
  } catch (e) {
    process.stderr.write(`usernet: VM ${pid} does not answer: ${(e as Error).message}\n`);
    return 1;
  }
  if (answer.startsWith('error: ')) {
    process.stderr.write(`usernet: ${answer.slice(7)}`);
    return 1;
  }
  process.stdout.write(answer);
  return 0;
}
