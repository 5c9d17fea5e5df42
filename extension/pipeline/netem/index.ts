export { NetworkConditions, MAX_RULES, type ConditionStatus, type NetworkConditionsOptions } from './conditions';
export { parseNetemRule, NetemRuleError, ACTION_WORDS } from './parse';
export { CONDITION_STAGES, conditionsAllowedAt, foreignConditionStage } from './stages';
export type { NetemRule, NetemActions } from './rule';
export type { RuleCounters, NetemDropReason } from './rule-state';
export { describeConditions, formatConditions } from './format';
export { mergeNetemSettings, type NetemSettings } from './settings';
