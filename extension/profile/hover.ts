/**
 * Hover documentation: what QEMU does with the option under the cursor, with
 * practical notes for the ones people trip over, and the meaning of a
 * `-netdev user` suboption or NIC model when the cursor is on one.
 */
import { lexProfile, wordSliceOffsets } from './lexer';
import { cursorContext, wordAt } from './cursor-context';
import { lookupOption, NETDEV_USER_SUBOPTIONS, NIC_MODELS, type OptionInfo } from './option-catalog';
import { parseOptionList } from '../slirp/option-list';

export interface HoverInfo {
  /** Markdown. */
  readonly contents: string;
  readonly start: number;
  readonly end: number;
}

export function hoverProfile(text: string, offset: number): HoverInfo | undefined {
  const lex = lexProfile(text);
  const at = wordAt(lex, offset);
  if (!at) return undefined;
  const { word } = at;
  // Ask about the position just inside the word, so the option it belongs to is found.
  const ctx = cursorContext(lex, Math.min(offset, word.end));
  if (!ctx) return undefined;
  if (ctx.kind === 'program') {
    return { contents: `**${word.value}**\n\nThe QEMU system emulator. Usernet runs qemu-system-x86_64 under the QEMU engine; the embedded engine ignores this word.`, start: word.start, end: word.end };
  }
  if (ctx.kind === 'option') {
    const info = lookupOption(word.value);
    if (!info) return { contents: `**${word.value}**\n\nNot a QEMU option: QEMU would refuse to start.`, start: word.start, end: word.end };
    return { contents: optionMarkdown(info), start: word.start, end: word.end };
  }

  // In an argument: a suboption key or NIC model gets its own text, otherwise the option's.
  const items = parseOptionList(word.value);
  const index = word.sourceOffsets.findIndex((o, i) => i < word.value.length && o >= offset);
  const valueIndex = index < 0 ? word.value.length : index;
  const item = items.find((i) => i.start <= valueIndex && valueIndex <= i.end);
  if (item) {
    const span = wordSliceOffsets(word, item.start, item.end);
    const isUser = items[0]?.key === '' && items[0].value === 'user';
    const suboption = NETDEV_USER_SUBOPTIONS.find((s) => s.name === item.key);
    if (isUser && suboption && ['-netdev', '-nic', '-net'].includes(ctx.option)) {
      return { contents: `**${suboption.name}=**\`${suboption.value}\`\n\n${suboption.summary}`, ...span };
    }
    const modelName = item.key === 'model' || (item.key === '' && ctx.option === '-device' && item === items[0]) ? item.value : undefined;
    const model = modelName !== undefined ? NIC_MODELS.find((m) => m.name === modelName || (modelName === 'virtio' && m.name === 'virtio-net-pci')) : undefined;
    if (model) return { contents: `**${model.name}**\n\n${model.summary}`, ...span };
  }
  return { contents: optionMarkdown(ctx.info), start: word.start, end: word.end };
}

export function optionMarkdown(info: OptionInfo): string {
  const usage = info.argument ? `\`${info.name} ${info.argument}\`` : `\`${info.name}\``;
  return [usage, info.summary, info.notes].filter(Boolean).join('\n\n');
}
