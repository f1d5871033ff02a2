import { defineConfig } from 'vitest/config';

// Tests compile and type-check generated modules; on a shared two-core machine a single one can take
// several seconds. No test may depend on the machine's speed, so the limits are generous: a test
// that hangs still fails, a slow machine does not.
const limits = { testTimeout: 60_000, hookTimeout: 180_000 };

/**
 * The tests of generated trainers that go through compileAndLoad (test/trainer-helpers.ts) run
 * twice: for the TS target, and again for the wasm target (RNNC_TEST_TARGET=wasm makes it the
 * default of every float32 module they compile). test/codegen-ts.test.ts covers both in one run.
 */
const PER_TARGET = ['test/wasm-kernels.test.ts', 'test/trainer-api.test.ts', 'test/trainer-parity-pytorch.test.ts', 'test/runtime-checks.test.ts', 'test/hostile-names.test.ts'];

export default defineConfig({
  test: {
    ...limits,
    projects: [
      { extends: true, test: { name: 'ts' } },
      { extends: true, test: { name: 'wasm', include: PER_TARGET, env: { RNNC_TEST_TARGET: 'wasm' } } },
    ],
  },
});
