import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { askText } from '../../../extension/ui/ask-text';
import { fake } from '../../support/vscode-fake';

beforeEach(() => fake.reset());

const noDigits = (text: string) => (/\d/.test(text) ? `no digits please: ${text}` : undefined);

test('a value accepted with Enter is kept though the box loses focus and hides at once', async () => {
  fake.inputAnswers.push('ping to {ip.dst}');
  const answer = await askText({ title: 'Logpoint on icmp_input', prompt: 'the message', placeHolder: '{ip.src}', problem: noDigits });
  assert.equal(answer, 'ping to {ip.dst}');
  const [box] = fake.inputBoxes;
  assert.deepEqual([box!.title, box!.prompt, box!.placeholder, box!.visible], ['Logpoint on icmp_input', 'the message', '{ip.src}', false]);
  assert.deepEqual(box!.shownMessages, [undefined]);
});

test('a refused value shows why under the box and is not taken', async () => {
  fake.inputAnswers.push('port 80');
  assert.equal(await askText({ title: 'x', problem: noDigits }), undefined);
  assert.deepEqual(fake.inputBoxes[0]!.shownMessages, ['no digits please: port 80']);
});

test('a box closed without Enter answers undefined; the first value and its selection are set', async () => {
  fake.inputAnswers.push(undefined);
  assert.equal(await askText({ title: 'Rule', value: 'tcp_input: loss 5%', valueSelection: [11, 18] }), undefined);
  const [box] = fake.inputBoxes;
  assert.equal(box!.value, 'tcp_input: loss 5%');
  assert.deepEqual(box!.valueSelection, [11, 18]);
});
