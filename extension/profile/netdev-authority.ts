/**
 * The slirp's own `-netdev user` parser (the one that builds the running
 * configuration) has the last word: whatever it refuses, the launch would refuse.
 * The profile's checker finds more than one mistake at a time and points inside
 * a hostfwd rule; the slirp's verdict is added only where that checker saw nothing.
 */
import { parseNetdevUser } from '../slirp/netdev-options';
import { checkNetdevUser, type NetdevCheck, type NetdevIssue } from './netdev-check';

/** The slirp parser's first objection to a spec, if any. Never throws. */
export function slirpObjection(spec: string): NetdevIssue | undefined {
  try {
    parseNetdevUser(spec);
    return undefined;
  } catch (error) {
    // Duck-typed: a NetdevOptionError carries the range of the spec it is about.
    const e = error as { message?: unknown; start?: unknown; end?: unknown };
    if (typeof e?.message !== 'string') return undefined;
    const start = typeof e.start === 'number' ? e.start : 0;
    const end = typeof e.end === 'number' && e.end > start ? e.end : spec.length;
    return { code: 'netdev-option', severity: 'error', message: e.message, start, end };
  }
}

export function checkNetdevUserWithSlirp(spec: string): NetdevCheck {
  const check = checkNetdevUser(spec);
  const objection = slirpObjection(spec);
  if (objection && !check.issues.some((i) => i.severity === 'error' && i.start < objection.end && objection.start < i.end)) {
    check.issues.push(objection);
  }
  return check;
}
