/**
 * Network conditions of a debug session: those of launch.json (`conditions`,
 * `netemSeed`) set when the VM comes up, and those added and cleared while it
 * runs (the Debug Console's `netem`, "Simulate Conditions…" through the
 * `usernet.netem` request). A restart starts again from launch.json's, with
 * the same seed.
 */
import type { Clock } from '../pipeline/clock';
import { describeConditions, formatConditions, NetemRuleError, NetworkConditions, parseNetemRule, type ConditionStatus } from '../pipeline/netem';
import type { ProbeHub } from '../pipeline/probe';
import type { EngineKind } from '../pipeline/stages';
import type { ConditionsBody } from './feed-bodies';

export const NETEM_HELP = [
  '  netem                the network conditions in force, with their counters',
  '  netem add RULE       impose one: netem add tcp_input if tcp.port == 80: loss 5% delay 50ms ±10ms',
  '  netem del N          remove rule N (what it holds goes on)',
  '  netem clear          remove them all',
].join('\n');

export class NetemControl {
  private conditions: NetworkConditions | undefined;
  /** The rules as given, kept across restarts. */
  private texts: string[] = [];
  private seed: number | undefined;

  /** Checks the launch configuration's rules; throws NetemRuleError. */
  configure(rules: readonly string[], seed?: number): void {
    for (const r of rules) parseNetemRule(r);
    this.texts = [...rules];
    this.seed = seed;
  }

  /** The VM is up: its probes take the rules (under QEMU, `warn` hears of rules on QEMU's own stages). */
  attach(probes: ProbeHub, clock: Clock, engine?: EngineKind, warn?: (message: string) => void): void {
    this.detach();
    const conditions = new NetworkConditions(probes, clock, { seed: this.seed, ...(engine ? { engine } : {}), ...(warn ? { warn } : {}) });
    // A restart replays the same decisions: the seed drawn the first time stays.
    this.seed = conditions.seed;
    for (const r of this.texts) conditions.add(r);
    this.conditions = conditions;
  }

  detach(): void {
    this.conditions?.dispose();
    this.conditions = undefined;
  }

  get body(): ConditionsBody {
    return { seed: this.seed ?? 0, rules: this.conditions?.list() ?? [] };
  }

  /** The rules in force with their counters and the seed, as `netem` and `info usernet` list them. */
  listing(): string {
    return formatConditions(this.conditions?.list() ?? [], this.body.seed);
  }

  /** One line naming the rules in force and the seed that replays them; undefined when there are none. */
  summary(): string | undefined {
    return this.conditions?.list().length ? describeConditions(this.conditions) : undefined;
  }

  add(rule: string): ConditionStatus {
    const conditions = this.need();
    const status = conditions.add(rule);
    this.texts.push(status.text);
    return status;
  }

  remove(id: number): boolean {
    const conditions = this.need();
    const rule = conditions.list().find((r) => r.id === id);
    if (!rule || !conditions.remove(id)) return false;
    this.texts.splice(this.texts.indexOf(rule.text), 1);
    return true;
  }

  clear(): number {
    this.texts = [];
    return this.conditions?.clear() ?? 0;
  }

  /** The Debug Console's `netem [add RULE | del N | clear]`; throws Error with what to type instead. */
  command(args: string): string {
    const m = /^(\S*)\s*([\s\S]*)$/.exec(args.trim())!;
    const verb = m[1]!;
    const rest = m[2]!.trim();
    if (verb === '' || verb === 'list' || verb === 'show') return this.listing().trimEnd();
    if (verb === 'add') {
      if (rest === '') throw new Error(`netem add needs a rule: netem add STAGE [if FILTER]: ACTIONS`);
      try {
        const s = this.add(rest);
        return `#${s.id} ${s.text}`;
      } catch (e) {
        // Columns count in the rule, after 'netem add '.
        if (e instanceof NetemRuleError) throw new Error(`netem add: ${e.message} of the rule`);
        throw e;
      }
    }
    if (verb === 'del' || verb === 'delete' || verb === 'remove') {
      const id = Number(rest.replace(/^#/, ''));
      if (!Number.isInteger(id) || !this.remove(id)) throw new Error(`netem ${verb}: no rule '${rest}' (netem lists them)`);
      return `removed #${id}`;
    }
    if (verb === 'clear') return `removed ${this.clear()} rule(s)`;
    throw new Error(`netem: unknown command '${verb}'\n${NETEM_HELP}`);
  }

  private need(): NetworkConditions {
    if (!this.conditions) throw new Error('the VM is not running: network conditions apply to a running VM (launch.json "conditions" sets them from the start)');
    return this.conditions;
  }
}
