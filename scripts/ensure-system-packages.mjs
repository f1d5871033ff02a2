// `npm test` runs this first. Two tests need Debian packages that are not npm packages:
// test/browser.test.ts and the WebGPU browser test run Debian's chromium, and the WebGPU tests in
// Node load Dawn (the `webgpu` package), which needs the Vulkan loader (libvulkan1) and drives
// SwiftShader, the CPU Vulkan driver chromium ships. Where one is missing and we may install it
// (root, with apt-get, as on a fresh Debian machine or in CI), install it; otherwise say how, and
// fail, rather than skip the tests.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const needed = [
  { pkg: 'chromium', file: '/usr/bin/chromium' },
  { pkg: 'libvulkan1', file: '/usr/lib/x86_64-linux-gnu/libvulkan.so.1' },
].filter(({ file }) => !fs.existsSync(file));

if (needed.length > 0) {
  const names = needed.map((n) => n.pkg);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !fs.existsSync('/usr/bin/apt-get')) {
    console.error(`npm test: the browser and WebGPU tests need Debian's ${names.join(' and ')}: run 'apt-get update && apt-get install -y ${names.join(' ')}' as root`);
    process.exit(1);
  }
  console.error(`npm test: installing Debian's ${names.join(' and ')} for the browser and WebGPU tests (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', ...names], { stdio: 'inherit', env });
}
