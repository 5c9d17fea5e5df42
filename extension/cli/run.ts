/** `usernet run`: boot the guest and attach its serial console, or run one command in it. */
import { parseArgs } from 'node:util';
import { EmbeddedMachine, type NicModel } from '../machine/embedded-machine';
import { parseNetdevUser } from '../slirp/netdev-options';
import { Progress } from './progress';
import { EXIT_TIMEOUT, UsageError } from './usage-error';
import { attachTerminal } from './terminal';
import { PIPELINE_HELP, PIPELINE_OPTIONS, parsePipelineOptions } from './pipeline-options';
import { RunPipeline } from './pipeline-tools';

export const RUN_HELP = `usage: usernet run [options]

Boots the bundled guest (or the given kernel) under the embedded engine, with
our e1000 and slirp, and attaches its serial console to this terminal.
Ctrl-A x quits, Ctrl-A s prints the NAT sessions, Ctrl-A h lists the keys.

options (QEMU's meaning where QEMU has the option):
  --kernel FILE        Linux bzImage to boot (default: the bundled guest)
  --initrd FILE        initial ramdisk
  --append TEXT        kernel command line
  -m, --memory MIB     guest RAM in MiB (default 128)
  --netdev OPTS        QEMU -netdev user options, e.g. 'user,hostfwd=tcp::2222-:22'
  --nic MODEL          e1000 (default), virtio or ne2k (v86's own), none
  --mac ADDR           the NIC's MAC address (default 52:54:00:12:34:56)
  --exec CMD           run CMD in the guest shell, print its output, exit with its status
  --timeout S          give up after S seconds (exit status ${EXIT_TIMEOUT})
  --no-snapshot        boot cold instead of restoring the cached post-boot snapshot
  -q, --quiet          no progress or timing lines on stderr
${PIPELINE_HELP}`;

function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} expects a positive number, got '${text}'`);
  return n;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      append: { type: 'string' },
      memory: { type: 'string', short: 'm' },
      netdev: { type: 'string' },
      nic: { type: 'string' },
      mac: { type: 'string' },
      exec: { type: 'string' },
      timeout: { type: 'string' },
      'no-snapshot': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
      ...PIPELINE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see usernet run --help)`);
  const memoryMiB = positiveNumber('-m', values.memory?.replace(/^size=/, '').replace(/[mM]$/, ''));
  const timeoutS = positiveNumber('--timeout', values.timeout);
  const nic = values.nic ?? 'e1000';
  if (!['e1000', 'virtio', 'ne2k', 'none'].includes(nic)) throw new UsageError(`--nic must be e1000, virtio, ne2k or none, not '${nic}'`);
  const netdev = values.netdev !== undefined ? parseNetdevOrExplain(values.netdev) : undefined;
  const pipeline = new RunPipeline(parsePipelineOptions(values), { exec: values.exec !== undefined });

  const progress = new Progress(process.stderr, values.quiet);
  let vm: EmbeddedMachine | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    if (!timeoutS) return;
    timer = setTimeout(() => {
      process.stderr.write(`\nusernet: timed out after ${timeoutS} s (--timeout); stopping the VM\n`);
      resolve(EXIT_TIMEOUT);
    }, timeoutS * 1000);
  });

  const work = (async () => {
    vm = await EmbeddedMachine.start({
      kernel: values.kernel,
      initrd: values.initrd,
      append: values.append,
      memoryMiB,
      nic: nic as NicModel,
      mac: values.mac,
      netdev,
      snapshot: values['no-snapshot'] ? 'off' : 'use',
      onProgress: (m) => progress.update(m),
      onLog: (m) => process.stderr.write(`usernet: ${m}\n`),
    });
    const how = vm.bootInfo.restored ? 'restored from snapshot' : 'cold boot';
    progress.done(`guest ready in ${(vm.bootInfo.ms / 1000).toFixed(1)} s (${how})`);
    await pipeline.attach(vm);
    if (values.exec !== undefined) {
      const r = await vm.exec(values.exec, timeoutS ? timeoutS * 1000 : 24 * 3600_000);
      process.stdout.write(r.output);
      return r.status;
    }
    return attachTerminal(vm, { mayRead: pipeline.consoleMayRead });
  })();

  // A run ended by the timeout or a quit leaves `work` to fail when the VM goes away: that is expected.
  work.catch(() => {});
  try {
    return await Promise.race([work, timedOut, pipeline.quitRequested]);
  } finally {
    if (timer) clearTimeout(timer);
    await pipeline.close();
    await vm?.stop().catch(() => {});
  }
}

function parseNetdevOrExplain(spec: string) {
  try {
    return parseNetdevUser(spec);
  } catch (e) {
    throw new UsageError(`--netdev: ${(e as Error).message}`);
  }
}
