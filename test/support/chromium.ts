/**
 * Headless Chromium for the webview and end-to-end tests: Debian's
 * /usr/bin/chromium driven by playwright-core, with the flags that keep it
 * off the network and quiet.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.USERNET_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Why Chromium tests cannot run here, or undefined when they can. */
export function chromiumProblem(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; CI installs it from scripts/system-packages.txt)`;
}
