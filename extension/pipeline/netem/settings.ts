/**
 * The conditions a run starts with, as given (rules checked, not compiled):
 * from a profile's `# usernet: netem=` comments, the CLI's --netem or
 * launch.json's `conditions`. Where both a profile and the launch give some,
 * the rules add up (the profile's first) and the launch's seed wins.
 */
export interface NetemSettings {
  readonly rules: readonly string[];
  readonly seed?: number;
}

export function mergeNetemSettings(profile: NetemSettings | undefined, launch: NetemSettings | undefined): NetemSettings | undefined {
  if (!profile) return launch;
  if (!launch) return profile;
  const seed = launch.seed ?? profile.seed;
  return { rules: [...profile.rules, ...launch.rules], ...(seed !== undefined ? { seed } : {}) };
}
