/**
 * The network options of a profile, read as QEMU reads them: -netdev, -net
 * (nic, a backend, none), -nic (a backend with its NIC) and -device of a NIC
 * model. Each backend keeps its options' source offsets, so a problem in a
 * -netdev user option is reported at its exact range; unnamed backends are
 * named TYPE.N as QEMU names them.
 */
import { isNicDriver, normalizeNicModel, NETDEV_TYPES } from './option-catalog';
import { parseOptionList, findItem, type OptionItem } from '../slirp/option-list';
import type { ProfileWord } from './lexer';
import type { NetdevSpec, NicSpec, ParsedOption, ProblemSeverity } from './plan';
import type { SourceRange } from './source-range';

const MAC_ADDRESS = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** What the reader needs of the profile reader: problems at a range of a word, and options passed through to QEMU. */
export interface NetworkOptionSink {
  reportInWord(code: string, severity: ProblemSeverity, message: string, word: ProfileWord, from: number, to: number): void;
  sliceRange(word: ProfileWord, from: number, to: number): SourceRange;
  addPassthrough(option: ParsedOption): void;
}

export class NetworkOptionReader {
  readonly netdevs: NetdevSpec[] = [];
  readonly nics: NicSpec[] = [];
  /** Any network option at all (QEMU's default NIC is then not added). */
  seen = false;
  /** -net none or -nic none. */
  disabled = false;
  /** QEMU names unnamed -net/-nic backends TYPE.N, counting per type. */
  private readonly backendCounters = new Map<string, number>();

  constructor(private readonly sink: NetworkOptionSink) {}

  readNetdev(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const typeItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    if (!typeItem || typeItem.value === '') {
      this.sink.reportInWord('netdev-missing-type', 'error', '-netdev needs a type first: -netdev user,id=net0', arg, 0, arg.value.length);
      return;
    }
    if (!(NETDEV_TYPES as readonly string[]).includes(typeItem.value)) {
      this.sink.reportInWord('netdev-unknown-type', 'error', `unknown netdev type "${typeItem.value}": use ${NETDEV_TYPES.join(', ')}`, arg, typeItem.valueStart, typeItem.valueEnd);
    }
    const idItem = findItem(items, 'id');
    if (!idItem || idItem.value === '') {
      this.sink.reportInWord('netdev-missing-id', 'error', `-netdev ${typeItem.value} needs an id: -netdev ${typeItem.value},id=net0 (a -device ...,netdev=net0 refers to it)`, arg, 0, arg.value.length);
    }
    const id = idItem?.value ?? '';
    this.netdevs.push(this.netdevSpec(option, arg, items, typeItem.value, id, 'netdev', [typeItem, ...(idItem ? [idItem] : [])], idItem));
    if (typeItem.value !== 'user') this.sink.addPassthrough(option);
  }

  readNet(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const kindItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    const kind = kindItem?.value ?? '';
    if (kind === 'none') {
      this.disabled = true;
      return;
    }
    if (kind === 'nic') {
      const modelItem = findItem(items, 'model');
      const macItem = findItem(items, 'macaddr');
      const netdevItem = findItem(items, 'netdev');
      if (macItem) this.checkMac(arg, macItem);
      this.nics.push({
        model: normalizeNicModel(modelItem?.value ?? 'e1000'), mac: macItem?.value, netdev: netdevItem?.value,
        form: 'net', range: option.range, netdevRange: netdevItem ? this.sink.sliceRange(arg, netdevItem.valueStart, netdevItem.valueEnd) : undefined,
      });
      return;
    }
    if (!kindItem || !(NETDEV_TYPES as readonly string[]).includes(kind)) {
      const [from, to] = kindItem ? [kindItem.valueStart, kindItem.valueEnd] : [0, arg.value.length];
      this.sink.reportInWord('net-unknown-kind', 'error', `-net ${kind || '…'} is not valid: use -net nic[,model=...], -net user[,...] or -net none`, arg, from, to);
      return;
    }
    const idItem = findItem(items, 'id') ?? findItem(items, 'name');
    const id = idItem?.value || this.nextBackendName(kind);
    this.netdevs.push(this.netdevSpec(option, arg, items, kind, id, 'net', [kindItem, ...(idItem ? [idItem] : [])], idItem));
    if (kind !== 'user') this.sink.addPassthrough(option);
  }

  readNic(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const typeItem = items[0]?.key === '' ? items[0] : findItem(items, 'type');
    const type = typeItem?.value ?? '';
    if (type === 'none') {
      this.disabled = true;
      return;
    }
    if (!typeItem || !(NETDEV_TYPES as readonly string[]).includes(type)) {
      const [from, to] = typeItem ? [typeItem.valueStart, typeItem.valueEnd] : [0, arg.value.length];
      this.sink.reportInWord('nic-unknown-type', 'error', `-nic ${type || '…'} is not valid: use -nic user[,model=e1000][,hostfwd=...] or -nic none`, arg, from, to);
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
    if (type !== 'user') this.sink.addPassthrough(option);
  }

  readDevice(option: ParsedOption, arg: ProfileWord): void {
    const items = parseOptionList(arg.value);
    const driverItem = items[0]?.key === '' ? items[0] : findItem(items, 'driver');
    const driver = driverItem?.value ?? '';
    if (!isNicDriver(driver)) {
      this.sink.addPassthrough(option);
      return;
    }
    const netdevItem = findItem(items, 'netdev');
    const macItem = findItem(items, 'mac');
    if (macItem) this.checkMac(arg, macItem);
    this.nics.push({
      model: driver, netdev: netdevItem?.value, mac: macItem?.value, form: 'device', range: option.range,
      netdevRange: netdevItem ? this.sink.sliceRange(arg, netdevItem.valueStart, netdevItem.valueEnd) : undefined,
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
      idRange: idItem ? this.sink.sliceRange(arg, idItem.valueStart, idItem.valueEnd) : undefined,
    };
  }

  private nextBackendName(type: string): string {
    const n = this.backendCounters.get(type) ?? 0;
    this.backendCounters.set(type, n + 1);
    return `${type}.${n}`;
  }

  private checkMac(arg: ProfileWord, item: OptionItem): void {
    if (!MAC_ADDRESS.test(item.value)) {
      this.sink.reportInWord('bad-mac', 'error', `"${item.value}" is not a MAC address: write six hex pairs, e.g. 52:54:00:12:34:56`, arg, item.valueStart, item.valueEnd);
    } else if (parseInt(item.value.slice(0, 2), 16) & 1) {
      this.sink.reportInWord('bad-mac', 'error', `${item.value} is a multicast address: a NIC needs a unicast MAC (first byte even, e.g. 52:54:00:...)`, arg, item.valueStart, item.valueEnd);
    }
  }
}
