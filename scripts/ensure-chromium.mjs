// `npm test` runs this first: test/browser.test.ts trains a page in Debian's chromium, which is not
// an npm package. Where it is missing and we may install it (root, with apt-get, as on a fresh
// Debian machine or in CI), install it; otherwise say how, and fail, rather than skip the test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !fs.existsSync('/usr/bin/apt-get')) {
    console.error(`npm test: the browser test needs Debian's chromium at ${CHROMIUM}: run 'apt-get update && apt-get install -y chromium' as root`);
    process.exit(1);
  }
  console.error('npm test: installing Debian\'s chromium for the browser test (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
}
