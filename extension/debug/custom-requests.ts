/**
 * The custom requests of protocol.ts as the runtime answers them: each
 * request's arguments are checked first (request-validation.ts) and refused
 * with the reason; the answer is the response body (undefined: none).
 */
import type { VmRuntime } from '../runtime/vm-runtime';
import { checkAddForward, checkCloseSession, checkFlow, checkFlowDetail, checkFlowFilter, checkNetem, checkNoArgs, checkRecordFlows, checkRemoveForward, checkSerialInput, checkStartCapture } from './request-validation';

type Checked<A> = { ok: true; args: A } | { ok: false; reason: string };

/** Runs `work` on arguments that passed their check; throws the reason of those that did not. */
function withArgs<A>(checked: Checked<A>, work: (args: A) => unknown): unknown {
  if (!checked.ok) throw new Error(checked.reason);
  return work(checked.args);
}

/** The body of the answer to `command` (a promise of it for the requests that wait); throws what to tell the user. */
export function answerCustomRequest(runtime: VmRuntime, command: string, args: unknown): unknown {
  switch (command) {
    case 'usernet.serialInput':
      return withArgs(checkSerialInput(args), (a) => runtime.serialInput(Buffer.from(a.data, 'base64')));
    case 'usernet.closeSession':
      return withArgs(checkCloseSession(args), (a) => runtime.closeSession(a.id));
    case 'usernet.addForward':
      return withArgs(checkAddForward(args), (a) => runtime.addForward(a.spec));
    case 'usernet.removeForward':
      return withArgs(checkRemoveForward(args), (a) => ({ removed: runtime.removeForward(a) }));
    case 'usernet.startCapture':
      return withArgs(checkStartCapture(args), (a) => runtime.startCapture(a));
    case 'usernet.stopCapture':
      return withArgs(checkNoArgs(args), () => runtime.stopCapture());
    case 'usernet.netem':
      return withArgs(checkNetem(args), (a) => runtime.netemRequest(a));
    case 'usernet.recordFlows':
      return withArgs(checkRecordFlows(args), (a) => runtime.recordFlows(a.on));
    case 'usernet.flow':
      return withArgs(checkFlow(args), (a) => runtime.flow(a.session, a.from));
    case 'usernet.flowDetail':
      return withArgs(checkFlowDetail(args), (a) => runtime.flowDetail(a.session, a.n));
    case 'usernet.flowFilter':
      return withArgs(checkFlowFilter(args), (a) => ({ matches: runtime.flowFilter(a.session, a.filter) }));
    case 'usernet.infoUsernet':
      return withArgs(checkNoArgs(args), () => ({ text: runtime.infoUsernet() }));
  }
  throw new Error(`unknown request '${command}'`);
}
