/**
 * A one-line question whose answer is never lost once the user pressed Enter.
 *
 * `window.showInputBox` checks the value again on Enter by a round trip to
 * this extension host, and resolves only when that answer is back: if focus
 * leaves the box meanwhile (the user presses Enter and clicks the console at
 * once, while the host is busy with a VM's output), the box closes as
 * cancelled and what was typed is dropped without a word. Here the box's
 * accept and hide events arrive in the order they happened, and the check runs
 * on accept in this process, so an accepted value is kept whatever follows.
 */
import * as vscode from 'vscode';

export interface TextQuestion {
  title: string;
  prompt?: string;
  placeHolder?: string;
  value?: string;
  /** The part of `value` selected at first, as [start, end). */
  valueSelection?: [number, number];
  /** Why `text` cannot be taken (shown under the box), or undefined when it can. */
  problem?: (text: string) => string | undefined;
}

/** The text accepted with Enter, or undefined when the box was closed without one. */
export function askText(question: TextQuestion): Promise<string | undefined> {
  const box = vscode.window.createInputBox();
  box.title = question.title;
  box.prompt = question.prompt;
  box.placeholder = question.placeHolder;
  box.value = question.value ?? '';
  if (question.valueSelection) box.valueSelection = question.valueSelection;
  const problem = question.problem ?? (() => undefined);
  return new Promise((resolve) => {
    let answer: string | undefined;
    const subscriptions = [
      box.onDidChangeValue((text) => {
        box.validationMessage = problem(text);
      }),
      box.onDidAccept(() => {
        const text = box.value;
        const why = problem(text);
        box.validationMessage = why;
        if (why !== undefined || answer !== undefined) return;
        answer = text;
        resolve(text);
        box.hide();
      }),
      box.onDidHide(() => {
        for (const s of subscriptions) s.dispose();
        box.dispose();
        if (answer === undefined) resolve(undefined);
      }),
    ];
    box.show();
  });
}
