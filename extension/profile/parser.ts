/**
 * Reads a profile's words into a ProfilePlan: the options Usernet acts on are
 * interpreted, every other option QEMU knows passes through untouched, and
 * anything QEMU would reject is reported with the exact range of the token.
 * Parsing never throws: a malformed option yields a problem and parsing goes on.
 */
import { lexProfile, wordSliceOffsets, type LexResult, type ProfileWord } from './lexer';
import { lookupOption, canonicalOptionName } from './option-catalog';
import { NetworkOptionReader } from './network-options';
import { parseOptionList, findItem, type OptionItem } from '../slirp/option-list';
import { normalizeNetwork } from './network-plan';
import { parseMemoryMiB } from './sizes';
import type {
  DriveSpec, FileReference, ProfilePlan, ParsedOption, PassthroughOption, ProblemSeverity, ProfileProblem,
} from './plan';

export interface ParseResult {
  readonly plan: ProfilePlan;
  readonly problems: ProfileProblem[];
  readonly lex: LexResult;
}

const QEMU_PROGRAM = /(^|\/)(qemu-system-[A-Za-z0-9_-]+|qemu-kvm|kvm)(\.exe)?$/;
const DRIVE_INTERFACES = ['ide', 'scsi', 'sd', 'mtd', 'floppy', 'pflash', 'virtio', 'none', 'xen'];
const DRIVE_MEDIA = ['disk', 'cdrom'];
const EMBEDDED_NOTE = 'not supported by the embedded engine (use engine: qemu)';

export function parseProfile(text: string): ParseResult {
  const lex = lexProfile(text);
  const { plan, problems } = parseWords(lex);
  return { plan, problems, lex };
}

export function parseWords(lex: LexResult): { plan: ProfilePlan; problems: ProfileProblem[] } {
  return new ProfileReader(lex).read();
}

class ProfileReader {
  private readonly problems: ProfileProblem[] = [];
  private program?: string;
  private accel: ProfilePlan['accel'];
  private enableKvm = false;
  private cpu?: string;
  private memoryMiB?: number;
  private smp?: number;
  private nographic = false;
  private nodefaults = false;
  private readonly serial: string[] = [];
  private readonly drives: DriveSpec[] = [];
  private kernel?: string;
  private initrd?: string;
  private append?: string;
  private name?: string;
  private readonly passthrough: PassthroughOption[] = [];
  private readonly options: ParsedOption[] = [];
  private readonly files: FileReference[] = [];
  /** -netdev, -net, -nic and the NIC -devices. */
  private readonly network: NetworkOptionReader = new NetworkOptionReader({
    reportInWord: (...a) => this.reportInWord(...a),
    sliceRange: (word, from, to) => this.sliceRange(word, from, to),
    addPassthrough: (option) => this.addPassthrough(option),
  });

  constructor(private readonly lex: LexResult) {}

  read(): { plan: ProfilePlan; problems: ProfileProblem[] } {
    const words = this.lex.words;
    let i = 0;
    for (const word of words) this.warnAboutExpansions(word);
    if (words.length > 0 && !words[0].value.startsWith('-')) {
      const first = words[0];
      if (QEMU_PROGRAM.test(first.value)) this.program = first.value;
      else this.report('unknown-program', 'warning', `"${first.value}" is not a QEMU system emulator: Usernet runs qemu-system-x86_64 (or the embedded engine) and ignores it`, first.start, first.end);
      i = 1;
    }
    while (i < words.length) i = this.readOption(words, i);

    const { netdevs, nics } = this.network;
    const network = normalizeNetwork({
      netdevs, nics, networkOptionSeen: this.network.seen, nodefaults: this.nodefaults, networkDisabled: this.network.disabled,
    });
    const plan: ProfilePlan = {
      program: this.program, accel: this.accel, enableKvm: this.enableKvm, cpu: this.cpu, memoryMiB: this.memoryMiB,
      smp: this.smp, nographic: this.nographic, nodefaults: this.nodefaults, serial: this.serial, drives: this.drives,
      kernel: this.kernel, initrd: this.initrd, append: this.append, name: this.name, netdevs,
      nics, network, passthrough: this.passthrough, options: this.options, files: this.files,
    };
    return { plan, problems: this.problems };
  }

  /** Reads the option at words[i]; returns the index of the next one. */
  private readOption(words: readonly ProfileWord[], i: number): number {
    const word = words[i];
    // QEMU reads a word that is not an option as the first hard disk image.
    if (!word.value.startsWith('-') || word.value === '-') {
      this.addDrive({ file: word.value, if: 'ide', index: 0, media: 'disk', origin: 'bare', range: word.range, fileRange: word.range }, word, 0, word.value.length);
      this.options.push({ name: '', word, range: word.range });
      return i + 1;
    }
    const info = lookupOption(word.value);
    const name = canonicalOptionName(word.value);
    if (!info) {
      this.report('unknown-option', 'error', `unknown option ${word.value}: QEMU would refuse to start ("invalid option")`, word.start, word.end);
      // Step over a likely argument so one typo gives one diagnostic.
      const next = words[i + 1];
      const argument = next && !next.value.startsWith('-') ? next : undefined;
      const option: ParsedOption = { name, word, argument, range: this.spanRange(word, argument) };
      this.options.push(option);
      this.passthrough.push({ name, words: [word.value, ...(argument ? [argument.value] : [])], range: option.range, knownToQemu: false, note: 'unknown to QEMU' });
      return i + (argument ? 2 : 1);
    }
    let argument: ProfileWord | undefined;
    if (info.takesArgument) {
      argument = words[i + 1];
      if (!argument) {
        this.report('missing-argument', 'error', `${word.value} needs an argument: ${word.value} ${info.argument ?? 'VALUE'}`, word.start, word.end);
        this.options.push({ name, word, info, range: word.range });
        return i + 1;
      }
    }
    const option: ParsedOption = { name, word, argument, info, range: this.spanRange(word, argument) };
    this.options.push(option);
    this.interpret(option);
    return i + (argument ? 2 : 1);
  }

  private interpret(option: ParsedOption): void {
    const arg = option.argument;
    switch (option.name) {
      case '-enable-kvm':
        this.enableKvm = true;
        this.accel = this.accel ?? 'kvm';
        return;
      case '-accel': {
        const items = parseOptionList(arg!.value);
        const accel = items[0]?.key === '' ? items[0].value : findItem(items, 'accel')?.value;
        if (accel) this.accel = accel;
        return;
      }
      case '-machine':
      case '-M': {
        const accel = findItem(parseOptionList(arg!.value), 'accel')?.value;
        if (accel) this.accel = accel.split(':')[0];
        this.addPassthrough(option);
        return;
      }
      case '-cpu':
        this.cpu = arg!.value;
        return;
      case '-m':
        this.readMemory(arg!);
        return;
      case '-smp':
        this.readSmp(arg!);
        return;
      case '-nographic':
        this.nographic = true;
        return;
      case '-serial':
        this.serial.push(arg!.value);
        return;
      case '-hda':
      case '-hdb':
      case '-hdc':
      case '-hdd': {
        const index = ['-hda', '-hdb', '-hdc', '-hdd'].indexOf(option.name);
        this.addDrive({ file: arg!.value, if: 'ide', index, media: 'disk', origin: option.name as DriveSpec['origin'], range: option.range, fileRange: arg!.range }, arg!, 0, arg!.value.length);
        return;
      }
      case '-cdrom':
        this.addDrive({ file: arg!.value, if: 'ide', index: 2, media: 'cdrom', origin: '-cdrom', range: option.range, fileRange: arg!.range }, arg!, 0, arg!.value.length);
        return;
      case '-drive':
        this.readDrive(option, arg!);
        return;
      case '-kernel':
        this.kernel = arg!.value;
        this.addFile('kernel', arg!, 0, arg!.value.length);
        return;
      case '-initrd':
        this.initrd = arg!.value;
        this.addFile('initrd', arg!, 0, arg!.value.length);
        return;
      case '-append':
        this.append = arg!.value;
        return;
      case '-name': {
        const items = parseOptionList(arg!.value);
        this.name = items[0]?.key === '' ? items[0].value : findItem(items, 'guest')?.value ?? arg!.value;
        return;
      }
      case '-netdev':
        this.network.seen = true;
        this.network.readNetdev(option, arg!);
        return;
      case '-net':
        this.network.seen = true;
        this.network.readNet(option, arg!);
        return;
      case '-nic':
        this.network.seen = true;
        this.network.readNic(option, arg!);
        return;
      case '-device':
        this.network.readDevice(option, arg!);
        return;
      case '-nodefaults':
        this.nodefaults = true;
        this.addPassthrough(option);
        return;
      default:
        this.addPassthrough(option);
    }
  }

  private readMemory(arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const sizeItem = items[0]?.key === '' ? items[0] : findItem(items, 'size');
    if (!sizeItem) {
      this.reportInWord('bad-memory-size', 'error', '-m needs a size: -m 512, -m 1G or -m size=1G', arg, 0, arg.value.length);
      return;
    }
    const mib = parseMemoryMiB(sizeItem.value);
    if (mib === undefined || mib === 0) {
      this.reportInWord('bad-memory-size', 'error', `"${sizeItem.value}" is not a memory size: use MiB (512) or a suffix K, M, G (1G)`, arg, sizeItem.valueStart, sizeItem.valueEnd);
      return;
    }
    this.memoryMiB = mib;
  }

  private readSmp(arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const cpusItem = items[0]?.key === '' ? items[0] : findItem(items, 'cpus');
    const count = (item: OptionItem | undefined): number | undefined => {
      if (!item) return undefined;
      if (!/^\d+$/.test(item.value) || Number(item.value) < 1) {
        this.reportInWord('bad-smp', 'error', `"${item.value}" is not a CPU count`, arg, item.valueStart, item.valueEnd);
        return undefined;
      }
      return Number(item.value);
    };
    const cpus = count(cpusItem);
    if (cpus !== undefined) {
      this.smp = cpus;
      return;
    }
    const topology = ['sockets', 'dies', 'clusters', 'cores', 'threads'].map((k) => count(findItem(items, k)));
    if (topology.some((n) => n !== undefined)) this.smp = topology.reduce<number>((product, n) => product * (n ?? 1), 1);
  }

  private readDrive(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    for (const item of items) {
      if (!item.hasValue && item.raw !== '') {
        this.reportInWord('drive-bare-item', 'error', `-drive expects key=value items; "${item.raw}" has no value (did you mean file=${item.raw}?)`, arg, item.start, item.end);
      }
    }
    const checkChoice = (key: string, choices: readonly string[]): string | undefined => {
      const item = findItem(items, key);
      if (item && !choices.includes(item.value)) {
        this.reportInWord(`drive-bad-${key}`, 'error', `${key}=${item.value} is not valid: use one of ${choices.join(', ')}`, arg, item.valueStart, item.valueEnd);
      }
      return item?.value;
    };
    const fileItem = findItem(items, 'file');
    const indexItem = findItem(items, 'index');
    let index: number | undefined;
    if (indexItem) {
      if (/^\d+$/.test(indexItem.value)) index = Number(indexItem.value);
      else this.reportInWord('drive-bad-index', 'error', `index=${indexItem.value} is not a number`, arg, indexItem.valueStart, indexItem.valueEnd);
    }
    const drive: DriveSpec = {
      file: fileItem?.value,
      if: checkChoice('if', DRIVE_INTERFACES),
      format: findItem(items, 'format')?.value,
      media: checkChoice('media', DRIVE_MEDIA),
      index,
      origin: '-drive',
      range: option.range,
      fileRange: fileItem ? this.sliceRange(arg, fileItem.valueStart, fileItem.valueEnd) : undefined,
    };
    if (fileItem && fileItem.value !== '') this.addDrive(drive, arg, fileItem.valueStart, fileItem.valueEnd);
    else this.drives.push(drive);
  }

  private addDrive(drive: DriveSpec, word: ProfileWord, from: number, to: number): void {
    this.drives.push(drive);
    if (drive.file) this.addFile('drive', word, from, to);
  }

  private addFile(role: FileReference['role'], word: ProfileWord, from: number, to: number): void {
    const { start, end } = wordSliceOffsets(word, from, to);
    this.files.push({ role, path: word.value.slice(from, to).replace(/,,/g, ','), range: this.lex.lines.range(start, end), start, end });
  }

  private addPassthrough(option: ParsedOption): void {
    this.passthrough.push({
      name: option.name,
      words: [option.word.value, ...(option.argument ? [option.argument.value] : [])],
      range: option.range,
      knownToQemu: true,
      note: EMBEDDED_NOTE,
    });
  }

  private warnAboutExpansions(word: ProfileWord): void {
    for (const at of word.expansions) {
      const next = word.value[at + 1];
      // A lone `$` at the end, or followed by something that is no variable, is literal to the shell too.
      if (word.value[at] === '$' && (next === undefined || !/[A-Za-z_{(0-9@*#?$!-]/.test(next))) continue;
      this.reportInWord('shell-expansion', 'warning', 'profiles are not run by a shell: variables and command substitutions are passed literally (write the value, or single-quote it)', word, at, at + 1);
    }
  }

  private spanRange(word: ProfileWord, argument: ProfileWord | undefined) {
    return this.lex.lines.range(word.start, (argument ?? word).end);
  }

  private sliceRange(word: ProfileWord, from: number, to: number) {
    const { start, end } = wordSliceOffsets(word, from, to);
    return this.lex.lines.range(start, end);
  }

  private reportInWord(code: string, severity: ProblemSeverity, message: string, word: ProfileWord, from: number, to: number): void {
    const { start, end } = wordSliceOffsets(word, from, to);
    this.report(code, severity, message, start, end === start ? word.end : end);
  }

  private report(code: string, severity: ProblemSeverity, message: string, start: number, end: number): void {
    this.problems.push({ code, severity, message, start, end, range: this.lex.lines.range(start, end) });
  }
}
