/**
 * The profile module's public face: read a `.qemu` profile, judge it, and turn
 * it into what an engine runs.
 */
export { lexProfile, type ProfileWord, type LexResult } from './lexer';
export { parseProfile, type ParseResult } from './parser';
export type { ProfilePlan, NetworkPlan, DriveSpec, NetdevSpec, NicSpec, PassthroughOption, ProfileProblem } from './plan';
export { diagnose, resolveProfilePath, type DiagnoseOptions, type ProfileDiagnostic } from './diagnostics';
export { checkEngineSupport, embeddedLimitation } from './engine-support';
export { findEngineDirective } from './engine-directive';
export { findNetemDirectives } from './netem-directive';
export { buildQemuArgv, type QemuArgv, type QemuArgvOptions, type UserNetworkForSlirp } from './qemu-args';
export { LAUNCH_COMMAND, DEBUG_COMMAND } from './server-commands';
