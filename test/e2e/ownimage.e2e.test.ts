/**
 * An image of the user's under the QEMU engine, launched from launch.json in
 * VS Code (test/support/slow-login-image.ts: its shell comes late, behind a
 * login): while the guest boots, a progress notification with the seconds and
 * the console's last line and the status bar at "booting"; "running" only at
 * the shell prompt, after "login" was typed. Screenshots in
 * test-results/e2e/ownimage/.
 */
import { test } from 'node:test';
import { BUNDLED_KERNEL, slowLoginInitrd } from '../support/slow-login-image';
import { consoleFrame, e2eSkipReason, expectText, openWorkbench, runCommand } from '../support/vscode-e2e';
import { qemuMissing } from '../guest/qemu-scenarios';

const skip = e2eSkipReason() ?? qemuMissing();
const initrd = skip ? '' : slowLoginInitrd();

test('VS Code: a launch of an image of the user\'s waits for its shell, with progress, and is running only then', { skip, timeout: 10 * 60_000 }, async (t) => {
  const launchJson = {
    version: '0.2.0',
    configurations: [{ type: 'usernet', request: 'launch', name: 'Slow image', engine: 'qemu', kernel: BUNDLED_KERNEL, initrd, append: 'console=ttyS0 quiet', login: 'root' }],
  };
  const { page, step } = await openWorkbench(t, 'ownimage', { '.vscode/launch.json': JSON.stringify(launchJson, null, 2) });

  await step('Debug: Start Debugging launches the configuration', async () => {
    await runCommand(page, 'Debug: Start Debugging');
    // With no configuration chosen in Run and Debug yet (a fresh profile), VS Code asks which one.
    const toolbar = page.locator('.debug-toolbar');
    const choice = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Slow image' }).first();
    await Promise.race([toolbar.waitFor({ timeout: 60_000 }), choice.waitFor({ timeout: 60_000 }).then(() => choice.click())]);
    await toolbar.waitFor({ timeout: 60_000 });
  });

  await step('while the guest boots: a progress notification names the seconds and the console\'s last line; the status bar says booting', async () => {
    const toast = page.locator('.notification-toast', { hasText: /waiting for the guest's shell: \d+ s, last line: slow init: starting services/ });
    await toast.first().waitFor({ timeout: 120_000 });
    await page.locator('.statusbar-item', { hasText: 'booting' }).first().waitFor({ timeout: 10_000 });
  });

  await step('at the shell prompt, after the login was typed: running, and the progress is gone', async () => {
    await page.locator('.statusbar-item', { hasText: /running/ }).first().waitFor({ timeout: 180_000 });
    await page.locator('.notification-toast', { hasText: /waiting for the guest's shell/ }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await expectText(consoleFrame(page).locator('.xterm-rows'), '@slowguest:/root#', 30_000);
    await expectText(page.locator('.repl'), "VM running (the guest's shell after", 30_000);
  });
});
