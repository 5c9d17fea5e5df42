/**
 * Variables as DAP wants them: a tree whose expandable nodes get a
 * variablesReference. Children are built only when the client expands a node,
 * and every reference dies when the VM runs again.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';

export interface VarNode {
  readonly name: string;
  readonly value: string;
  readonly type?: string;
  /** What evaluate() takes to compute this again (a filter field name): "Add to Watch", hovers. */
  readonly evaluateName?: string;
  readonly memoryReference?: string;
  readonly children?: () => VarNode[];
}

export class VariableStore {
  private nodes = new Map<number, () => VarNode[]>();
  private next = 1;

  /** A reference for a list of children (a scope, or an expandable variable). */
  add(children: () => VarNode[]): number {
    const ref = this.next++;
    this.nodes.set(ref, children);
    return ref;
  }

  has(ref: number): boolean {
    return this.nodes.has(ref);
  }

  /** The children of `ref`, or undefined when it is unknown (stale after a continue). */
  variables(ref: number, start = 0, count = 0): DebugProtocol.Variable[] | undefined {
    const build = this.nodes.get(ref);
    if (!build) return undefined;
    const all = build();
    const slice = count > 0 ? all.slice(start, start + count) : all.slice(start);
    return slice.map((n) => this.toVariable(n));
  }

  /** Forgets every reference: what was shown belongs to a packet no longer held. */
  clear(): void {
    this.nodes.clear();
  }

  private toVariable(n: VarNode): DebugProtocol.Variable {
    const v: DebugProtocol.Variable = { name: n.name, value: n.value, variablesReference: n.children ? this.add(n.children) : 0 };
    if (n.type) v.type = n.type;
    if (n.evaluateName) v.evaluateName = n.evaluateName;
    if (n.memoryReference) v.memoryReference = n.memoryReference;
    if (n.children) v.presentationHint = { kind: 'data' };
    else v.presentationHint = { attributes: ['readOnly'] };
    return v;
  }
}
