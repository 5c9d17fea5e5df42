/**
 * The typed result of reading a profile: what the user asked QEMU to do, with
 * the source range of everything a diagnostic may need to point at.
 */
import type { ProfileWord } from './lexer';
import type { OptionInfo } from './option-catalog';
import type { OptionItem } from '../slirp/option-list';
import type { SourceRange } from './source-range';

export type ProblemSeverity = 'error' | 'warning' | 'information';

export interface ProfileProblem {
  /** Stable identifier of the kind of problem (tests and quick fixes key on it). */
  readonly code: string;
  readonly severity: ProblemSeverity;
  readonly message: string;
  readonly range: SourceRange;
  /** Offsets in the profile text (end exclusive). */
  readonly start: number;
  readonly end: number;
}

/** One option as written: `-m 1G` is the word `-m` and its argument word `1G`. */
export interface ParsedOption {
  /** Canonical name (`--m` reads as `-m`). */
  readonly name: string;
  readonly word: ProfileWord;
  readonly argument?: ProfileWord;
  /** Catalog entry; undefined for options QEMU does not know. */
  readonly info?: OptionInfo;
  /** From the option word through its argument. */
  readonly range: SourceRange;
}

export interface DriveSpec {
  readonly file?: string;
  readonly if?: string;
  readonly format?: string;
  readonly media?: string;
  readonly index?: number;
  /** Which option made it: -drive, -hda... or a bare word (QEMU reads it as -hda). */
  readonly origin: '-drive' | '-hda' | '-hdb' | '-hdc' | '-hdd' | '-cdrom' | 'bare';
  /** The whole option. */
  readonly range: SourceRange;
  /** The file name's own span (inside `file=` for -drive). */
  readonly fileRange?: SourceRange;
}

export interface FileReference {
  readonly role: 'kernel' | 'initrd' | 'drive';
  readonly path: string;
  readonly range: SourceRange;
  readonly start: number;
  readonly end: number;
}

export interface NetdevSpec {
  readonly id: string;
  readonly type: string;
  /** Type-specific suboptions as written (escapes kept), without type, id, model and mac. */
  readonly options: string;
  /** Source offset of each character of `options`, plus one for its end. */
  readonly optionSourceOffsets: readonly number[];
  /** How it was declared: its own -netdev, a `-net user` hub backend, or half of a -nic. */
  readonly form: 'netdev' | 'net' | 'nic';
  readonly range: SourceRange;
  readonly idRange?: SourceRange;
  /** The option's argument word and its parsed items (for suboption ranges). */
  readonly word: ProfileWord;
  readonly items: readonly OptionItem[];
}

export interface NicSpec {
  readonly model: string;
  /** The -netdev id it is plugged into (for -nic, the id of its own backend). */
  readonly netdev?: string;
  readonly mac?: string;
  readonly form: 'device' | 'net' | 'nic';
  readonly range: SourceRange;
  readonly netdevRange?: SourceRange;
}

export type NetworkSource = 'default' | 'net' | 'netdev' | 'nic' | 'none';

/**
 * The one user-mode network Usernet runs, however it was spelled. The seed's three
 * forms (nothing, `-net nic -net user`, `-netdev user,id=user.0 -device e1000,...`)
 * give plans that differ only in `source`.
 */
export type NetworkPlan =
  | { readonly source: 'none' }
  | {
    readonly source: Exclude<NetworkSource, 'none'>;
    readonly nicModel: string;
    readonly mac?: string;
    /** The backend's name, as `info usernet` prints it ('user.0' unless named). */
    readonly netdevId: string;
    /** The `-netdev user` suboptions for our slirp, without type and id. */
    readonly userOptions: string;
  };

export interface PassthroughOption {
  readonly name: string;
  /** The option word and its argument as argv strings. */
  readonly words: readonly string[];
  readonly range: SourceRange;
  /** False for options QEMU itself would reject. */
  readonly knownToQemu: boolean;
  /** Why the embedded engine cannot run it. */
  readonly note: string;
}

/**
 * What a profile's command line asks for, as read (not yet an engine's start:
 * machine/launch-plan.ts's planRun turns it into one, which the runtime's
 * LaunchPlan in runtime/runtime-types.ts carries for a debug session).
 */
export interface ProfilePlan {
  /** The first word when it names a QEMU system emulator. */
  readonly program?: string;
  readonly accel: 'kvm' | 'tcg' | 'hvf' | 'whpx' | 'xen' | (string & {}) | undefined;
  readonly enableKvm: boolean;
  readonly cpu?: string;
  readonly memoryMiB?: number;
  readonly smp?: number;
  readonly nographic: boolean;
  readonly nodefaults: boolean;
  readonly serial: string[];
  readonly drives: DriveSpec[];
  readonly kernel?: string;
  readonly initrd?: string;
  readonly append?: string;
  readonly name?: string;
  readonly netdevs: NetdevSpec[];
  readonly nics: NicSpec[];
  readonly network: NetworkPlan;
  readonly passthrough: PassthroughOption[];
  /** Every option in command-line order (the QEMU argv rewrite walks these). */
  readonly options: ParsedOption[];
  /** Files the profile refers to, for existence checks. */
  readonly files: FileReference[];
}
