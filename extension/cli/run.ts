/** `usernet run`: boot the guest and attach its serial console, or run one command in it. */
import { parseArgs } from 'node:util';
import type { EmbeddedMachine, NicModel } from '../machine/embedded-machine';
import { startEngine, type RunningMachine } from '../machine/engine-start';
import { LaunchPlanError } from '../machine/launch-plan';
import { planLaunchRequest } from '../machine/run-request';
import { DEFAULT_SHELL_WAIT_MS, loginNameProblem, waitForShell } from '../machine/shell-wait';
import { Progress } from './progress';
import { EXIT_TIMEOUT, EXIT_VM_FAILED, UsageError } from './usage-error';
import { attachTerminal } from './terminal';
import { PIPELINE_HELP, PIPELINE_OPTIONS, parsePipelineOptions } from './pipeline-options';
import { mergeNetemSettings } from '../pipeline/netem';
import { RunPipeline } from './pipeline-tools';

export const RUN_HELP = `usage: usernet run [options]
       usernet run [options] --profile FILE.qemu
       usernet run [options] -- QEMU-ARGUMENTS...

Boots the bundled guest (or the given kernel) under the embedded engine, with
our e1000 and slirp, and attaches its serial console to this terminal.
Ctrl-A x quits, Ctrl-A s prints the NAT sessions, Ctrl-A h lists the keys.
A profile (or QEMU arguments after --) is a QEMU command line; under the QEMU
engine qemu-system-x86_64 runs it with its -netdev user replaced by our slirp.

options (QEMU's meaning where QEMU has the option):
  --profile FILE       a .qemu launch profile (QEMU command-line syntax)
  --engine ENGINE      embedded (default) or qemu; a profile may say
                       '# usernet: engine=qemu'
  --qemu PATH          the QEMU binary (default: $USERNET_QEMU, else
                       qemu-system-x86_64 from PATH)
  --kernel FILE        Linux bzImage to boot (default: the bundled guest)
  --initrd FILE        initial ramdisk
  --append TEXT        kernel command line
  -m, --memory MIB     guest RAM in MiB (default 128)
  --netdev OPTS        QEMU -netdev user options, e.g. 'user,hostfwd=tcp::2222-:22'
  --nic MODEL          e1000 (default), virtio or ne2k (v86's own), none
  --mac ADDR           the NIC's MAC address (default 52:54:00:12:34:56)
  --exec CMD           run CMD in the guest shell once it is ready, stream its
                       output, exit with its status
  --prompt REGEX       a guest that is not the bundled one is ready when its
                       console's last line matches REGEX (default '[#$] $': a
                       root or user shell prompt)
  --login USER         at a login prompt, log in as USER (no password)
  --timeout S          give up after S seconds (exit status ${EXIT_TIMEOUT})
  --no-snapshot        boot cold instead of restoring the cached post-boot snapshot
  --no-reboot          a guest reset ends the run instead of rebooting the guest
                       (always so with --exec)
  --console-timeout S  end a cold boot that prints nothing on the console for
                       S seconds (embedded engine; default 30, 0: wait forever)
  -q, --quiet          no progress or timing lines on stderr
${PIPELINE_HELP}
exit status: the --exec command's, else 0 (also when the guest powers off,
halts, or resets under --no-reboot); 1 the VM could not start; 2 bad
arguments; ${EXIT_VM_FAILED} the emulator failed or the guest printed nothing;
${EXIT_TIMEOUT} --timeout; 128+N a signal N.
`;

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
      profile: { type: 'string' },
      engine: { type: 'string' },
      qemu: { type: 'string' },
      exec: { type: 'string' },
      prompt: { type: 'string' },
      login: { type: 'string' },
      timeout: { type: 'string' },
      'no-snapshot': { type: 'boolean' },
      'no-reboot': { type: 'boolean' },
      'console-timeout': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
      ...PIPELINE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  // Words after `--` are QEMU's; anything else loose is a mistake.
  const qemuArgs = argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : [];
  if (positionals.length > qemuArgs.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see usernet run --help)`);
  const memoryMiB = positiveNumber('-m', values.memory?.replace(/^size=/, '').replace(/[mM]$/, ''));
  const timeoutS = positiveNumber('--timeout', values.timeout);
  const silenceLimitS = values['console-timeout'] === '0' ? 0 : positiveNumber('--console-timeout', values['console-timeout']);
  const nic = values.nic ?? 'e1000';
  if (!['e1000', 'virtio', 'ne2k', 'none'].includes(nic)) throw new UsageError(`--nic must be e1000, virtio, ne2k or none, not '${nic}'`);
  const launch = planOrExplain({
    engine: values.engine, profile: values.profile, qemu: values.qemu, qemuArgs,
    flags: { kernel: values.kernel, initrd: values.initrd, append: values.append, memoryMiB, netdev: values.netdev, nic: values.nic as NicModel | undefined, mac: values.mac },
    snapshot: values['no-snapshot'] ? 'off' : 'use',
    // Under --exec the run ends as soon as the guest resets: nothing would run the command again.
    noReboot: values['no-reboot'] || values.exec !== undefined,
    silenceLimitS,
  });
  const prompt = values.prompt === undefined ? undefined : promptPattern(values.prompt);
  const loginProblem = values.login === undefined ? undefined : loginNameProblem(values.login);
  if (loginProblem) throw new UsageError(`--login ${loginProblem}`);
  const pipelineOptions = parsePipelineOptions(values);
  // A profile's `# usernet: netem=` rules come first; --netem adds to them and its seed wins.
  const netem = mergeNetemSettings(launch.netem, pipelineOptions.netem) ?? pipelineOptions.netem;
  const pipeline = new RunPipeline({ ...pipelineOptions, netem }, { exec: values.exec !== undefined });

  const progress = new Progress(process.stderr, values.quiet);
  let vm: RunningMachine | undefined;
  let resolveDied: (status: number) => void = () => {};
  const died = new Promise<number>((resolve) => (resolveDied = resolve));
  const signalled = onTerminationSignal();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    if (!timeoutS) return;
    timer = setTimeout(() => {
      process.stderr.write(`\nusernet: timed out after ${timeoutS} s (--timeout); stopping the VM\n`);
      resolve(EXIT_TIMEOUT);
    }, timeoutS * 1000);
  });

  const work = (async () => {
    for (const note of launch.notes) process.stderr.write(`usernet: ${note}\n`);
    const t0 = performance.now();
    vm = await startEngine(launch, {
      onProgress: (m) => progress.update(m),
      onLog: (m) => process.stderr.write(`usernet: ${m}\n`),
    });
    // A VM that ends on its own is reported (power-off, reset, QEMU's status and message), never waited on.
    void vm.died.then((end) => {
      process.stderr.write(`\nusernet: ${end.message}\n`);
      resolveDied(end.reason === 'failure' || end.reason === 'silent' ? EXIT_VM_FAILED : 0);
    });
    let ready = 'guest ready';
    // The bundled guest is ready at its known prompt; another image when its console shows a shell.
    if (launch.engine === 'qemu' && !launch.bundledGuest) {
      const shell = await waitForShell(vm.serial, {
        prompt, login: values.login, loginPromptIsReady: values.exec === undefined,
        timeoutMs: timeoutS ? timeoutS * 1000 : DEFAULT_SHELL_WAIT_MS, onProgress: (m) => progress.update(m),
      });
      if (shell.kind === 'login') ready = 'guest at its login prompt (log in here, or give --login USER)';
    }
    progress.done(`${ready} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${vm.bootNote})`);
    await pipeline.attach(pipelineView(vm));
    if (values.exec !== undefined) {
      // Streamed as it comes, bytes as the guest wrote them.
      const r = await vm.exec(values.exec, timeoutS ? timeoutS * 1000 : 24 * 3600_000, (text) => process.stdout.write(Buffer.from(text, 'latin1')));
      return r.status;
    }
    return attachTerminal(pipelineView(vm), { mayRead: pipeline.consoleMayRead });
  })();

  // A run ended by the timeout or a quit leaves `work` to fail when the VM goes away: that is expected.
  work.catch(() => {});
  try {
    return await Promise.race([work, timedOut, pipeline.quitRequested, died, signalled.status]);
  } finally {
    if (timer) clearTimeout(timer);
    signalled.dispose();
    await pipeline.close();
    await vm?.stop().catch(() => {});
  }
}

function promptPattern(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`--prompt: ${(e as Error).message}`);
  }
}

function planOrExplain(request: Parameters<typeof planLaunchRequest>[0]) {
  try {
    return planLaunchRequest(request);
  } catch (e) {
    if (e instanceof LaunchPlanError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * The pipeline tools and the terminal are typed for the embedded machine but
 * use only what both engines have; the check below keeps that true.
 */
type PipelineNeeds = Pick<EmbeddedMachine, 'serial' | 'slirp' | 'probes' | 'clock' | 'paused' | 'pause' | 'resume'>;
function pipelineView(vm: RunningMachine): EmbeddedMachine {
  const needs: PipelineNeeds = vm.machine;
  return needs as EmbeddedMachine;
}

/** SIGINT/SIGTERM/SIGHUP stop the VM (QEMU is a separate process) before exiting 128+N. */
function onTerminationSignal(): { status: Promise<number>; dispose(): void } {
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
  let resolve!: (status: number) => void;
  const status = new Promise<number>((r) => (resolve = r));
  const handlers = Object.entries(signals).map(([name, n]) => {
    const handler = () => resolve(128 + n);
    process.once(name, handler);
    return () => process.off(name, handler);
  });
  return { status, dispose: () => handlers.forEach((off) => off()) };
}
