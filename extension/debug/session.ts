/**
 * The Debug Adapter Protocol face of one VM: one debug session runs one VM,
 * with a single thread ("VM"). Breakpoints are function breakpoints named
 * after pipeline stages; a stop holds a packet, whose stage chain is the call
 * stack and whose decoded headers are the variables. Everything VM-facing is
 * in VmRuntime; this file only speaks DAP.
 */
import { BreakpointEvent, Event, InitializedEvent, LoggingDebugSession, OutputEvent, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startMachine, type MachineFactory } from '../runtime/machine-port';
import { LaunchCancelled } from '../runtime/guest-shell';
import { LaunchError, planLaunch, type UsernetLaunchArguments } from './launch-args';
import { BootProgress } from './progress-echo';
import { buildScopes, findStopNode, stopObjects, type ScopeContext, type StopObject } from './packet-scopes';
import { completionTargets, wordBefore } from './completions';
import { lookupField } from '../pipeline/dissect';
import type { StageName } from '../pipeline/stages';
import { ProbeLocations } from '../runtime/probe-locations';
import type { UsernetEventName, UsernetEvents } from './protocol';
import { answerCustomRequest } from './custom-requests';
import { bundleSourceMap, SourceStore } from './source-store';
import { buildStackFrames, type PacketFrame } from './stack-frames';
import { VariableStore } from './variable-store';
import { VmRuntime, type RuntimeStop } from '../runtime/vm-runtime';

export const VM_THREAD_ID = 1;
/** Frame ids carry their stop: a frame of an earlier stop is recognised as stale. */
const FRAMES_PER_STOP = 1000;

/** The stop's objects that are also protocol names of the filter language: by themselves they name the object. */
const ROOT_OBJECTS: ReadonlySet<string> = new Set(['session']);

const STOP_REASONS: Readonly<Record<RuntimeStop['reason'], string>> = { breakpoint: 'function breakpoint', step: 'step', pause: 'pause', drop: 'exception' };

export interface UsernetSessionOptions {
  readonly startMachine?: MachineFactory;
  readonly locations?: ProbeLocations;
  readonly sources?: SourceStore;
  /** How long a pause waits for a packet before pausing the VM without one. */
  readonly pauseWaitMs?: number;
}

export class UsernetDebugSession extends LoggingDebugSession {
  /** Launched with noDebug ("Run Without Debugging", the profile's Launch lens). */
  private noDebug = false;
  private readonly runtime: VmRuntime;
  private readonly locations: ProbeLocations;
  private readonly sources: SourceStore;
  private readonly variables = new VariableStore();
  private frames = new Map<number, PacketFrame>();
  private progressSupported = false;
  /** The boot's progress while it lasts: cancelling it stops the VM. */
  private bootProgressId: string | undefined;
  private terminatedSent = false;

  constructor(options: UsernetSessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.locations = options.locations ?? ProbeLocations.load(__dirname);
    this.sources = options.sources ?? new SourceStore(this.locations.root, bundleSourceMap(__dirname));
    this.runtime = new VmRuntime({ startMachine: options.startMachine ?? startMachine, pauseWaitMs: options.pauseWaitMs });
    this.wireRuntime();
  }

  private wireRuntime(): void {
    const rt = this.runtime;
    rt.on('stopped', (stop) => {
      this.forgetStop();
      const e = new StoppedEvent(STOP_REASONS[stop.reason], VM_THREAD_ID) as DebugProtocol.StoppedEvent;
      e.body.description = stop.description;
      e.body.allThreadsStopped = true;
      if (stop.breakpointId !== undefined) e.body.hitBreakpointIds = [stop.breakpointId];
      this.sendEvent(e);
    });
    rt.on('output', (text, category) => this.sendEvent(new OutputEvent(text, category)));
    rt.on('breakpointsChanged', (statuses) => {
      for (const s of statuses) {
        this.sendEvent(new BreakpointEvent('changed', { id: s.id, verified: s.verified, ...(s.message ? { message: s.message } : {}) } as DebugProtocol.Breakpoint));
      }
    });
    rt.on('serial', (body) => this.sendCustom('usernet.serial', body));
    rt.on('sessions', (body) => this.sendCustom('usernet.sessions', body));
    rt.on('stages', (body) => this.sendCustom('usernet.stages', body));
    rt.on('vmState', (body) => this.sendCustom('usernet.vmState', body));
    rt.on('topology', (body) => this.sendCustom('usernet.topology', body));
    rt.on('exited', () => {
      if (this.terminatedSent) return;
      this.terminatedSent = true;
      this.sendEvent(new TerminatedEvent());
    });
  }

  private sendCustom<K extends UsernetEventName>(name: K, body: UsernetEvents[K]): void {
    this.sendEvent(new Event(name, body));
  }

  /** A failed request, with the reason as its message (no `{}` placeholder expansion). */
  private fail(response: DebugProtocol.Response, message: string): void {
    response.success = false;
    response.message = message;
    this.sendResponse(response);
  }

  /** Runs an async handler: a rejection becomes the failed response instead of an unhandled error. */
  private respond<R extends DebugProtocol.Response>(response: R, work: () => Promise<void> | void): void {
    Promise.resolve()
      .then(work)
      .then(() => this.sendResponse(response), (e: unknown) => this.fail(response, e instanceof Error ? e.message : String(e)));
  }

  private forgetStop(): void {
    this.variables.clear();
    this.frames.clear();
  }

  // ---- life cycle -------------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.progressSupported = args.supportsProgressReporting === true;
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsReadMemoryRequest: true,
      supportsEvaluateForHovers: true,
      supportsCompletionsRequest: true,
      completionTriggerCharacters: ['.'],
      supportsTerminateRequest: true,
      supportsCancelRequest: true,
      supportsRestartRequest: true,
      supportsSteppingGranularity: false,
      supportsDelayedStackTraceLoading: false,
      exceptionBreakpointFilters: [{
        filter: 'drop',
        label: 'Break on drop',
        description: 'Stop the VM at the stage that discards a packet',
        supportsCondition: true,
        conditionDescription: 'one drop reason, e.g. udp-bad-checksum (docs/drop-reasons.md); empty for every drop but the routine ones (the guest\'s DAD and MLD reports)',
      }],
    };
    this.sendResponse(response);
    // Breakpoints may come before the VM is up: the runtime checks them now and arms them at boot.
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    if (args?.noDebug) {
      // "Run Without Debugging": the VM never stops, whatever breakpoints exist.
      this.noDebug = true;
      this.runtime.setBreakpoints([]);
    }
    let plan;
    try {
      plan = planLaunch((args ?? {}) as UsernetLaunchArguments);
    } catch (e) {
      if (e instanceof LaunchError) return this.fail(response, e.message);
      throw e;
    }
    for (const note of plan.notes) this.sendEvent(new OutputEvent(`${note}\n`, 'console'));
    const progress = new BootProgress((event) => this.sendEvent(event), this.progressSupported);
    this.bootProgressId = progress.id;
    const ended = (message: string) => {
      this.runtime.off('progress', progress.update);
      this.bootProgressId = undefined;
      progress.end(message);
    };
    this.runtime.on('progress', progress.update);
    this.runtime.start(plan).then(
      () => {
        ended('the VM is running');
        const body = this.runtime.vmStateBody();
        const how = body.restored ? 'restored from snapshot in' : plan.shell ? 'the guest\'s shell after' : 'booted in';
        this.sendEvent(new OutputEvent(`VM running (${how} ${((body.bootMs ?? 0) / 1000).toFixed(1)} s)\n`, 'console'));
        this.sendResponse(response);
      },
      (e: unknown) => {
        // Cancelled: the VM is stopped and the session ends (TerminatedEvent), with no error to show.
        if (e instanceof LaunchCancelled) {
          ended('cancelled');
          return this.sendResponse(response);
        }
        ended('the VM failed to start');
        const message = `the VM did not start: ${e instanceof Error ? e.message : String(e)}`;
        // The extension tells a failed start once, from the 'failed' VM state, with what to do next: VS Code need not say it again.
        if (this.runtime.vmState === 'failed') response.body = { error: { id: 1, format: message, showUser: false } };
        this.fail(response, message);
      },
    );
  }

  /** The boot's progress cancelled (its notification's Cancel): the VM is stopped. */
  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    if (args.progressId === undefined || args.progressId !== this.bootProgressId) return this.sendResponse(response);
    this.respond(response, () => this.runtime.terminate());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.terminatedSent = true;
    this.runtime.terminate().then(
      () => {
        this.sendResponse(response);
        this.shutdown();
      },
      (e: unknown) => {
        this.fail(response, `stopping the VM failed: ${(e as Error).message}`);
        this.shutdown();
      },
    );
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    // 'exited' from the runtime sends the TerminatedEvent; VS Code then disconnects.
    this.respond(response, () => this.runtime.terminate());
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    this.forgetStop();
    this.respond(response, () => this.runtime.restart());
  }

  // ---- breakpoints ------------------------------------------------------------

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    if (this.noDebug) {
      const message = 'the VM was launched without debugging: breakpoints are off';
      response.body = { breakpoints: (args.breakpoints ?? []).map(() => ({ verified: false, message })) };
      return this.sendResponse(response);
    }
    const statuses = this.runtime.setBreakpoints(args.breakpoints ?? []);
    response.body = {
      breakpoints: statuses.map((s) => ({ id: s.id, verified: s.verified, ...(s.message ? { message: s.message } : {}) })),
    };
    this.sendResponse(response);
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    // Line breakpoints in our TypeScript are not probes: say what to use instead.
    const message = 'line breakpoints are not supported: add a function breakpoint named after a pipeline stage (tcp_input, udp_input, ...)';
    response.body = { breakpoints: (args.breakpoints ?? []).map((b) => ({ verified: false, line: b.line, message })) };
    this.sendResponse(response);
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    const option = args.filterOptions?.find((o) => o.filterId === 'drop');
    const on = option !== undefined || args.filters.includes('drop');
    const reason = option?.condition?.trim() || undefined;
    const problem = this.runtime.setDropBreak(on ? reason : null);
    response.body = { breakpoints: on ? [{ verified: problem === undefined, ...(problem ? { message: problem } : {}) }] : [] };
    this.sendResponse(response);
  }

  // ---- execution --------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(VM_THREAD_ID, 'VM')] };
    this.sendResponse(response);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.forgetStop();
    response.body = { allThreadsContinued: true };
    this.respond(response, () => this.runtime.continue());
  }

  /** The held packet's next stage; once it has left the pipeline the VM runs on. */
  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.forgetStop();
    this.respond(response, () => this.runtime.step('over'));
  }

  /** The held packet's next stage; once it has left the pipeline, the next packet of its direction. */
  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.forgetStop();
    this.respond(response, () => this.runtime.step('in'));
  }

  /** Out of the stage's layer with the same packet (tcp_input -> sosend, the NIC -> the net queue). */
  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.forgetStop();
    this.respond(response, () => this.runtime.step('out'));
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.respond(response, () => this.runtime.pause());
  }

  // ---- inspection ---------------------------------------------------------------

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const stop = this.runtime.stop;
    if (!stop) {
      response.body = { stackFrames: [], totalFrames: 0 };
      return this.sendResponse(response);
    }
    const firstId = stop.id * FRAMES_PER_STOP;
    let frames: DebugProtocol.StackFrame[];
    if (stop.event) {
      const built = buildStackFrames(stop.event.stageChain.slice(-FRAMES_PER_STOP), this.runtime.summary(stop), this.locations, this.sources, firstId);
      frames = built.frames;
      for (const f of built.packetFrames) this.frames.set(f.id, f);
    } else {
      frames = [{ id: firstId, name: 'VM paused (no packet in flight)', line: 0, column: 0, presentationHint: 'label' }];
    }
    const start = args.startFrame ?? 0;
    const levels = args.levels ?? 0;
    response.body = { stackFrames: levels > 0 ? frames.slice(start, start + levels) : frames.slice(start), totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const stop = this.runtime.stop;
    const frame = this.frames.get(args.frameId);
    if (!stop?.event || !frame || Math.floor(args.frameId / FRAMES_PER_STOP) !== stop.id) {
      response.body = { scopes: [] };
      return this.sendResponse(response);
    }
    response.body = { scopes: buildScopes(this.scopeContext(stop, frame.stage, frame.depth), this.variables) };
    this.sendResponse(response);
  }

  /** What the scopes of the frame at `depth` (0: the held stage) show. */
  private scopeContext(stop: RuntimeStop, stage: StageName, depth: number): ScopeContext {
    const hit = stop.event!.hit;
    return {
      hit,
      stage,
      memoryReference: this.runtime.memoryReferenceOf(stop),
      stagePackets: this.runtime.stagePackets(stage),
      ...(depth === 0 && stop.breakpointId !== undefined ? { breakpointHits: this.runtime.stopsOf(stop.breakpointId) } : {}),
      ...(hit.session ? { liveSession: this.runtime.liveSession(hit.session.id) } : {}),
      ...(stop.journey ? { journey: stop.journey } : {}),
    };
  }

  /** The stop's objects (frame, descriptor, session, journey, stage) as the held stage shows them; none while running. */
  private stopObjects(): StopObject[] {
    const stop = this.runtime.stop;
    return stop?.event ? stopObjects(this.scopeContext(stop, stop.event.hit.stage, 0)) : [];
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    response.body = { variables: this.variables.variables(args.variablesReference, args.start, args.count) ?? [] };
    this.sendResponse(response);
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const name = args.expression.trim();
    // A name Variables shows (frame, journey, session.bytesIn, frame.bytes.0010) answers with that node, expandable;
    // a filter field keeps its typed value and a protocol name its filter meaning (tcp -> true).
    const field = lookupField(name);
    if (!field || ROOT_OBJECTS.has(name)) {
      const node = findStopNode(this.stopObjects(), name);
      if (node) {
        response.body = { result: node.value, variablesReference: node.children ? this.variables.add(node.children) : 0, ...(node.type ? { type: node.type } : {}) };
        if (node.memoryReference) response.body.memoryReference = node.memoryReference;
        return this.sendResponse(response);
      }
    }
    try {
      const r = this.runtime.evaluate(args.expression, args.context);
      response.body = { result: r.result, variablesReference: 0, ...(r.type ? { type: r.type } : {}) };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, (e as Error).message);
    }
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    try {
      response.body = this.runtime.readMemory(args.memoryReference, args.offset ?? 0, args.count);
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, (e as Error).message);
    }
  }

  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const ref = args.source?.sourceReference ?? args.sourceReference;
    const content = ref ? this.sources.content(ref) : undefined;
    if (content === undefined) return this.fail(response, `no source for reference ${ref}`);
    response.body = { content, mimeType: 'text/x-typescript' };
    this.sendResponse(response);
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    const column = this.convertClientColumnToDebugger(args.column);
    const { start, word } = wordBefore(args.text, column);
    const targets = completionTargets(word, this.stopObjects().map((o) => o.node));
    // Each target replaces the word typed so far (start is 0-based here, the client's base on the wire).
    response.body = { targets: targets.map((t) => ({ ...t, start: this.convertDebuggerColumnToClient(start + 1), length: word.length })) };
    this.sendResponse(response);
  }

  // ---- custom requests (protocol.ts) ---------------------------------------------

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    this.respond(response, async () => {
      const body: unknown = await answerCustomRequest(this.runtime, command, args);
      if (body !== undefined) response.body = body;
    });
  }
}
