/**
 * The custom part of the DAP conversation between the extension (ui/) and the
 * debug adapter that runs the VM. Standard DAP carries breakpoints, stops,
 * stacks, variables and memory; these carry what DAP has no word for.
 * Both sides validate what they receive (see isSerialInput etc.).
 */
import type { FlowSnapshot } from '../pipeline/flow/record';
import type { CaptureRequest, CaptureResult, ConditionsBody, ForwardRule, NetemRequestArgs, SerialBody, SessionsBody, StagesBody, TopologyBody, VmStateBody } from '../runtime/feed-bodies';

// The bodies are the runtime's feeds, sent on as they are: the UI names them from here.
export type { CaptureRequest, CaptureResult, ConditionsBody, DropRow, ForwardRow, ForwardRule, NetemRequestArgs, SerialBody, SessionRow, SessionsBody, StagesBody, TopologyBody, VmStateBody } from '../runtime/feed-bodies';

/** Events, adapter -> extension. */
export interface UsernetEvents {
  'usernet.serial': SerialBody;
  'usernet.sessions': SessionsBody;
  'usernet.stages': StagesBody;
  'usernet.vmState': VmStateBody;
  /** What the topology view draws beyond the NAT table: addresses, the guest link and its counters (4 a second at most). */
  'usernet.topology': TopologyBody;
}

/** Custom requests, extension -> adapter (session.customRequest(name, args)). */
export interface UsernetRequests {
  'usernet.serialInput': { args: { data: string /* base64 */ }; result: void };
  'usernet.closeSession': { args: { id: number }; result: void };
  'usernet.addForward': { args: { spec: string /* "tcp:127.0.0.1:2222-:22" */ }; result: void };
  'usernet.removeForward': { args: ForwardRule; result: { removed: boolean } };
  'usernet.startCapture': { args: CaptureRequest; result: void };
  'usernet.stopCapture': { args: Record<string, never>; result: CaptureResult };
  'usernet.infoUsernet': { args: Record<string, never>; result: { text: string } };
  /** Network conditions (netem rules): list, add one, remove one, clear. */
  'usernet.netem': { args: NetemRequestArgs; result: ConditionsBody };
  /** Record every NAT session's flow from now on (the UI asks while a view that shows them is visible), or stop. */
  'usernet.recordFlows': { args: { on: boolean }; result: void };
  /** A NAT session's flow (flow graph, TCP stream graph): its items numbered `from` and later. */
  'usernet.flow': { args: FlowRequestArgs; result: FlowSnapshot };
  /** One packet of a flow: its frame and its journey as text. */
  'usernet.flowDetail': { args: { session: number; n: number }; result: { frame?: string /* base64 */; journey?: string } };
  /** The packets of a flow (their n) that a filter (the filter language) keeps. */
  'usernet.flowFilter': { args: { session: number; filter: string }; result: { matches: number[] } };
}

export interface FlowRequestArgs {
  session: number;
  from: number;
}

export type UsernetEventName = keyof UsernetEvents;
export type UsernetRequestName = keyof UsernetRequests;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Serial input is small base64 text: anything else is refused. */
export function isSerialInput(v: unknown): v is UsernetRequests['usernet.serialInput']['args'] {
  return isObject(v) && typeof v.data === 'string' && v.data.length <= 64 * 1024 && BASE64.test(v.data);
}

export function isSessionId(v: unknown): v is { id: number } {
  return isObject(v) && Number.isSafeInteger(v.id) && (v.id as number) > 0;
}
