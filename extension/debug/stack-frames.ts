/**
 * The call stack of a held packet: one frame per stage of its chain,
 * innermost (the stage it is held at) first, each pointing at the probe in
 * our TypeScript source.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { StageName } from '../pipeline/stages';
import type { ProbeLocations } from '../runtime/probe-locations';
import type { SourceStore } from './source-store';

export interface PacketFrame {
  readonly id: number;
  readonly stage: StageName;
  /** 0 for the stage the packet is held at. */
  readonly depth: number;
}

/**
 * @param chain outermost first, as stageChain returns it
 * @param summary one line about the packet, shown on the top frame
 * @param firstId frame ids are firstId, firstId + 1, ... innermost first
 */
export function buildStackFrames(
  chain: readonly StageName[],
  summary: string,
  locations: ProbeLocations,
  sources: SourceStore,
  firstId: number,
): { frames: DebugProtocol.StackFrame[]; packetFrames: PacketFrame[] } {
  const frames: DebugProtocol.StackFrame[] = [];
  const packetFrames: PacketFrame[] = [];
  for (let depth = 0; depth < chain.length; depth++) {
    const stage = chain[chain.length - 1 - depth]!;
    const id = firstId + depth;
    const site = locations.of(stage);
    const source = site ? sources.source(site.file) : undefined;
    const frame: DebugProtocol.StackFrame = {
      id,
      name: depth === 0 && summary ? `${stage}: ${summary}` : stage,
      line: source && site ? site.line : 0,
      column: source ? 1 : 0,
    };
    if (source) frame.source = source;
    // A stage whose probe is not in this build (another engine's NIC) is shown dimmed.
    else frame.presentationHint = 'subtle';
    frames.push(frame);
    packetFrames.push({ id, stage, depth });
  }
  return { frames, packetFrames };
}
