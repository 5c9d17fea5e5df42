/**
 * The buttons of the "User networking" walkthrough. Each does the step for
 * real: it types the guest's side into the serial console (where the user
 * sees it run) and plays the host's side on loopback from the extension host
 * (a listener the guest reaches through 10.0.2.2, a client that is refused,
 * then let in by a hostfwd). What happens reports progress to
 * WalkthroughProgress, whose keys tick the steps.
 */
import * as net from 'node:net';
import * as vscode from 'vscode';
import { request } from './commands';
import type { ConsolePanels } from './console-panel';
import type { Log } from './log';
import type { WalkthroughProgress } from './walkthrough';
import type { Vm, VmSessions } from './vm-sessions';

/** The guest port the host -> guest steps use. */
export const GUEST_PORT = 8080;
/** How long a walkthrough connection may take before it is given up. */
const EXCHANGE_TIMEOUT_MS = 10_000;

export interface WalkthroughDeps {
  vms: VmSessions;
  consoles: ConsolePanels;
  progress: WalkthroughProgress;
  log: Log;
}

export function registerWalkthroughCommands(deps: WalkthroughDeps): vscode.Disposable[] {
  const steps = new WalkthroughSteps(deps);
  return [
    steps,
    vscode.commands.registerCommand('usernet.walkthrough.launch', () => steps.launch()),
    vscode.commands.registerCommand('usernet.walkthrough.takeLease', () => steps.takeLease()),
    vscode.commands.registerCommand('usernet.walkthrough.reachHost', () => steps.reachHost()),
    vscode.commands.registerCommand('usernet.walkthrough.tryInbound', () => steps.tryInbound()),
    vscode.commands.registerCommand('usernet.walkthrough.forward', () => steps.forward()),
    vscode.commands.registerCommand('usernet.walkthrough.breakAtSlirpInput', () => steps.breakAtSlirpInput()),
  ];
}

class WalkthroughSteps implements vscode.Disposable {
  /** The loopback listener the guest reaches as 10.0.2.2:port. */
  private listener: Promise<number> | undefined;
  private server: net.Server | undefined;
  /** The host port that is refused, then forwarded to the guest's GUEST_PORT. */
  private hostPort: number | undefined;
  /** VMs whose guest has a `nc -l` waiting on GUEST_PORT. */
  private readonly guestListening = new WeakSet<Vm>();

  constructor(private readonly deps: WalkthroughDeps) {}

  launch(): void {
    // The console opens beside the walkthrough, which stays readable.
    this.deps.consoles.openNextBeside();
    void vscode.commands.executeCommand('usernet.launch');
  }

  async takeLease(): Promise<void> {
    const vm = this.runningVm();
    if (!vm) return;
    if (vm.state?.guestAddress) {
      void vscode.window.showInformationMessage(`Usernet: the guest already has its lease: ${vm.state.guestAddress}, gateway 10.0.2.2, DNS 10.0.2.3.`);
      return;
    }
    await this.type(vm, 'udhcpc -i eth0');
  }

  async reachHost(): Promise<void> {
    const vm = this.runningVm();
    if (!vm) return;
    const port = await this.listen();
    await this.type(vm, `echo hello from the guest | nc 10.0.2.2 ${port}`);
  }

  async tryInbound(): Promise<void> {
    const vm = this.runningVm();
    if (!vm) return;
    const port = await this.forwardPort();
    await this.startGuestListener(vm);
    const outcome = await exchange(port, 'hello from the host\n');
    if (outcome.kind === 'refused') {
      this.deps.progress.note({ kind: 'inboundRefused' });
      void vscode.window.showInformationMessage(
        `Usernet: connecting to 127.0.0.1:${port} was refused. The guest listens on port ${GUEST_PORT}, but nothing on the host leads there: user networking lets the guest out, not the host in. Add a port forward (next step).`,
      );
    } else if (vm.forwards.some((f) => f.hostPort === port)) {
      void vscode.window.showInformationMessage(`Usernet: 127.0.0.1:${port} is already forwarded to the guest (the next step was done): remove the forward in NAT Sessions to see the refusal again.`);
    } else {
      void vscode.window.showWarningMessage(`Usernet: 127.0.0.1:${port} was not refused (${describe(outcome)}): another program may use that port.`);
    }
  }

  async forward(): Promise<void> {
    const vm = this.runningVm();
    if (!vm) return;
    const port = await this.forwardPort();
    const spec = `tcp:127.0.0.1:${port}-:${GUEST_PORT}`;
    if (!vm.forwards.some((f) => f.hostPort === port)) {
      if (!(await request(vm, 'usernet.addForward', { spec }, `forward ${spec}`, this.deps.log))) return;
    }
    await this.startGuestListener(vm);
    // The guest's nc may still be starting: the forward then accepts and the guest resets it.
    for (let attempt = 0; attempt < 5; attempt++) {
      const outcome = await exchange(port, 'hello from the host\n');
      if (outcome.kind === 'answered') {
        this.guestListening.delete(vm); // its nc has exited with the connection
        this.deps.progress.note({ kind: 'guestAnswered' });
        void vscode.window.showInformationMessage(`Usernet: through hostfwd ${spec} the host reached the guest's port ${GUEST_PORT}, which answered "${outcome.text.trim()}".`);
        return;
      }
      await sleep(1000);
    }
    this.guestListening.delete(vm);
    void vscode.window.showWarningMessage(`Usernet: the forward ${spec} is in place but nothing in the guest answered on port ${GUEST_PORT}. Click again to start nc -l -p ${GUEST_PORT} in the guest.`);
  }

  async breakAtSlirpInput(): Promise<void> {
    const vm = this.runningVm();
    if (!vm) return;
    const existing = vscode.debug.breakpoints.some((b) => b instanceof vscode.FunctionBreakpoint && b.enabled && b.functionName === 'slirp_input');
    if (!existing) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('slirp_input')]);
    // Any frame the guest sends goes through slirp_input: a ping, or the DHCP request when there is no lease yet.
    await this.type(vm, vm.state?.guestAddress ? 'ping -c 1 10.0.2.2' : 'udhcpc -i eth0');
  }

  /** The VM the steps act on, once its shell can take a command; else says what to do. */
  private runningVm(): Vm | undefined {
    const vm = this.deps.vms.current;
    if (!vm) {
      void vscode.window.showInformationMessage('Usernet: launch the VM first (the first step).', 'Launch VM').then((pick) => {
        if (pick) this.launch();
      });
      return undefined;
    }
    if (vm.state?.state !== 'running' && vm.state?.state !== 'paused') {
      void vscode.window.showInformationMessage('Usernet: the VM is still starting: wait for its prompt in the serial console.');
      return undefined;
    }
    return vm;
  }

  /** Types a command line into the guest's shell, in its console where the user sees it. */
  private async type(vm: Vm, line: string): Promise<void> {
    this.deps.consoles.open(vm, true, true);
    await request(vm, 'usernet.serialInput', { data: Buffer.from(`${line}\r`).toString('base64') }, 'type into the guest', this.deps.log);
  }

  private async startGuestListener(vm: Vm): Promise<void> {
    if (this.guestListening.has(vm)) return;
    this.guestListening.add(vm);
    // In a subshell: no job-control chatter in the console.
    await this.type(vm, `(echo hello from the guest | nc -l -p ${GUEST_PORT} &)`);
    await sleep(1000);
  }

  /** A free loopback port, chosen once: refused in one step, forwarded in the next. */
  private async forwardPort(): Promise<number> {
    this.hostPort ??= await freeLoopbackPort();
    return this.hostPort;
  }

  private listen(): Promise<number> {
    this.listener ??= new Promise<number>((resolve, reject) => {
      const server = net.createServer((socket) => this.greet(socket));
      server.once('error', (e) => {
        this.listener = undefined;
        reject(e);
      });
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
      this.server = server;
    });
    return this.listener;
  }

  /** The host's end of the guest's connection: a greeting back, the guest's line, then the end. */
  private greet(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let text = '';
    socket.setTimeout(EXCHANGE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', (e) => this.deps.log.warn(`walkthrough listener: ${e.message}`));
    socket.write('hello from the host\n');
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (!text.includes('\n')) return;
      this.deps.progress.note({ kind: 'hostReceived' });
      const port = (this.server?.address() as net.AddressInfo | null)?.port;
      void vscode.window.showInformationMessage(
        `Usernet: the host's 127.0.0.1:${port} received "${text.trim().slice(0, 80)}" from ${peer}: the guest's connection to 10.0.2.2 left through a host socket (NAT).`,
      );
      socket.end();
    });
  }

  dispose(): void {
    this.server?.close();
  }
}

type Outcome = { kind: 'refused' } | { kind: 'answered'; text: string } | { kind: 'closed' } | { kind: 'failed'; message: string };

/** Connects to 127.0.0.1:port, sends `line`, and waits for a line back (or the end). */
function exchange(port: number, line: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(o);
    };
    socket.setTimeout(EXCHANGE_TIMEOUT_MS, () => finish({ kind: 'failed', message: 'no answer' }));
    socket.on('connect', () => socket.write(line));
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('\n')) {
        // The guest's nc prints our line and exits when we close.
        socket.end();
        done = true;
        resolve({ kind: 'answered', text });
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'failed', message: e.message }));
    socket.on('close', () => finish(text ? { kind: 'answered', text } : { kind: 'closed' }));
  });
}

function describe(o: Outcome): string {
  return o.kind === 'failed' ? o.message : o.kind === 'answered' ? `it answered "${o.text.trim()}"` : 'it accepted and closed';
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
