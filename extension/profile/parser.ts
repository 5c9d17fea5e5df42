/**
 * Reads a profile's words into a ProfilePlan: the options Usernet acts on are
 * interpreted, every other option QEMU knows passes through untouched, and
 * anything QEMU would reject is reported with the exact range of the token.
 * Parsing never throws: a malformed option yields a problem and parsing goes on.
 */
import { lexProfile, wordSliceOffsets, type LexResult, type ProfileWord } from './lexer';
import { lookupOption, canonicalOptionName, isNicDriver, normalizeNicModel, NETDEV_TYPES } from './option-catalog';
import { parseOptionList, findItem, type OptionItem } from '../slirp/option-list';
import { normalizeNetwork } from './network-plan';
import { parseMemoryMiB } from './sizes';
import type {
  DriveSpec, FileReference, ProfilePlan, NetdevSpec, NicSpec, ParsedOption, PassthroughOption, ProblemSeverity, ProfileProblem,
} from './plan';

export interface ParseResult {
  readonly plan: ProfilePlan;
  readonly problems: ProfileProblem[];
  readonly lex: LexResult;
}

const QEMU_PROGRAM = /(^|\/)(qemu-system-[A-Za-z0-9_-]+|qemu-kvm|kvm)(\.exe)?$/;
const MAC_ADDRESS = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
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
  private readonly netdevs: NetdevSpec[] = [];
  private readonly nics: NicSpec[] = [];
  private readonly passthrough: PassthroughOption[] = [];
  private readonly options: ParsedOption[] = [];
  private readonly files: FileReference[] = [];
  private networkOptionSeen = false;
  private networkDisabled = false;
  /** QEMU names unnamed -net/-nic backends TYPE.N, counting per type. */
  private readonly backendCounters = new Map<string, number>();

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

    const network = normalizeNetwork({
      netdevs: this.netdevs, nics: this.nics,
      networkOptionSeen: this.networkOptionSeen, nodefaults: this.nodefaults, networkDisabled: this.networkDisabled,
    });
    const plan: ProfilePlan = {
      program: this.program, accel: this.accel, enableKvm: this.enableKvm, cpu: this.cpu, memoryMiB: this.memoryMiB,
      smp: this.smp, nographic: this.nographic, nodefaults: this.nodefaults, serial: this.serial, drives: this.drives,
      kernel: this.kernel, initrd: this.initrd, append: this.append, name: this.name, netdevs: this.netdevs,
      nics: this.nics, network, passthrough: this.passthrough, options: this.options, files: this.files,
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
        this.networkOptionSeen = true;
        this.readNetdev(option, arg!);
        return;
      case '-net':
        this.networkOptionSeen = true;
        this.readNet(option, arg!);
        return;
      case '-nic':
        this.networkOptionSeen = true;
        this.readNic(option, arg!);
        return;
      case '-device':
        this.readDevice(option, arg!);
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

  private readNetdev(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const typeItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    if (!typeItem || typeItem.value === '') {
      this.reportInWord('netdev-missing-type', 'error', '-netdev needs a type first: -netdev user,id=net0', arg, 0, arg.value.length);
      return;
    }
    if (!(NETDEV_TYPES as readonly string[]).includes(typeItem.value)) {
      this.reportInWord('netdev-unknown-type', 'error', `unknown netdev type "${typeItem.value}": use ${NETDEV_TYPES.join(', ')}`, arg, typeItem.valueStart, typeItem.valueEnd);
    }
    const idItem = findItem(items, 'id');
    if (!idItem || idItem.value === '') {
      this.reportInWord('netdev-missing-id', 'error', `-netdev ${typeItem.value} needs an id: -netdev ${typeItem.value},id=net0 (a -device ...,netdev=net0 refers to it)`, arg, 0, arg.value.length);
    }
    const id = idItem?.value ?? '';
    this.netdevs.push(this.netdevSpec(option, arg, items, typeItem.value, id, 'netdev', [typeItem, ...(idItem ? [idItem] : [])], idItem));
    if (typeItem.value !== 'user') this.addPassthrough(option);
  }

  private readNet(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const kindItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    const kind = kindItem?.value ?? '';
    if (kind === 'none') {
      this.networkDisabled = true;
      return;
    }
    if (kind === 'nic') {
      const modelItem = findItem(items, 'model');
      const macItem = findItem(items, 'macaddr');
      const netdevItem = findItem(items, 'netdev');
      if (macItem) this.checkMac(arg, macItem);
      this.nics.push({
        model: normalizeNicModel(modelItem?.value ?? 'e1000'), mac: macItem?.value, netdev: netdevItem?.value,
        form: 'net', range: option.range, netdevRange: netdevItem ? this.sliceRange(arg, netdevItem.valueStart, netdevItem.valueEnd) : undefined,
      });
      return;
    }
    if (!kindItem || !(NETDEV_TYPES as readonly string[]).includes(kind)) {
      const [from, to] = kindItem ? [kindItem.valueStart, kindItem.valueEnd] : [0, arg.value.length];
      this.reportInWord('net-unknown-kind', 'error', `-net ${kind || '…'} is not valid: use -net nic[,model=...], -net user[,...] or -net none`, arg, from, to);
      return;
    }
    const idItem = findItem(items, 'id') ?? findItem(items, 'name');
    const id = idItem?.value || this.nextBackendName(kind);
    this.netdevs.push(this.netdevSpec(option, arg, items, kind, id, 'net', [kindItem, ...(idItem ? [idItem] : [])], idItem));
    if (kind !== 'user') this.addPassthrough(option);
  }

  private readNic(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const typeItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    const type = typeItem?.value ?? '';
    if (type === 'none') {
      this.networkDisabled = true;
      return;
    }
    if (!typeItem || !(NETDEV_TYPES as readonly string[]).includes(type)) {
      const [from, to] = typeItem ? [typeItem.valueStart, typeItem.valueEnd] : [0, arg.value.length];
      this.reportInWord('nic-unknown-type', 'error', `-nic ${type || '…'} is not valid: use -nic user[,model=e1000][,hostfwd=...] or -nic none`, arg, from, to);
      return;
    }
    const modelItem = findItem(items, 'model');
    const macItem = findItem(items, 'mac');
    const idItem = findItem(items, 'id');
    if (macItem) this.checkMac(arg, macItem);
    const id = idItem?.value || this.nextBackendName(type);
    const skipped = [typeItem, ...[idItem, modelItem, macItem].filter((x): x is OptionItem => x !== undefined)];
    this.netdevs.push(this.netdevSpec(option, arg, items, type, id, 'nic', skipped, idItem));
    this.nics.push({ model: normalizeNicModel(modelItem?.value ?? 'e1000'), mac: macItem?.value, netdev: id, form: 'nic', range: option.range });
    if (type !== 'user') this.addPassthrough(option);
  }

  private readDevice(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const driverItem = items[0]?.key === '' ? items[0] : findItem(items, 'driver');
    const driver = driverItem?.value ?? '';
    if (!isNicDriver(driver)) {
      this.addPassthrough(option);
      return;
    }
    const netdevItem = findItem(items, 'netdev');
    const macItem = findItem(items, 'mac');
    if (macItem) this.checkMac(arg, macItem);
    this.nics.push({
      model: driver, netdev: netdevItem?.value, mac: macItem?.value, form: 'device', range: option.range,
      netdevRange: netdevItem ? this.sliceRange(arg, netdevItem.valueStart, netdevItem.valueEnd) : undefined,
    });
  }

  private netdevSpec(
    option: ParsedOption, arg: ProfileWord, items: readonly OptionItem[], type: string, id: string,
    form: NetdevSpec['form'], skipped: readonly OptionItem[], idItem: OptionItem | undefined,
  ): NetdevSpec {
    let options = '';
    const optionSourceOffsets: number[] = [];
    for (const item of items) {
      if (skipped.includes(item)) continue;
      if (options !== '') {
        options += ',';
        optionSourceOffsets.push(arg.sourceOffsets[Math.max(0, item.start - 1)]);
      }
      options += item.raw;
      for (let k = item.start; k < item.end; k++) optionSourceOffsets.push(arg.sourceOffsets[k]);
    }
    const last = optionSourceOffsets.length ? optionSourceOffsets[optionSourceOffsets.length - 1] + 1 : arg.end;
    optionSourceOffsets.push(last);
    return {
      id, type, options, optionSourceOffsets, form, range: option.range, word: arg, items,
      idRange: idItem ? this.sliceRange(arg, idItem.valueStart, idItem.valueEnd) : undefined,
    };
  }

  private nextBackendName(type: string): string {
    const n = this.backendCounters.get(type) ?? 0;
    this.backendCounters.set(type, n + 1);
    return `${type}.${n}`;
  }

  private checkMac(arg: ProfileWord, item: OptionItem): void {
    if (!MAC_ADDRESS.test(item.value)) {
      this.reportInWord('bad-mac', 'error', `"${item.value}" is not a MAC address: write six hex pairs, e.g. 52:54:00:12:34:56`, arg, item.valueStart, item.valueEnd);
    } else if (parseInt(item.value.slice(0, 2), 16) & 1) {
      this.reportInWord('bad-mac', 'error', `${item.value} is a multicast address: a NIC needs a unicast MAC (first byte even, e.g. 52:54:00:...)`, arg, item.valueStart, item.valueEnd);
    }
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
