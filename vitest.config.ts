import { defineConfig } from 'vitest/config';

// Tests compile and type-check generated modules; on a shared two-core machine a single one can take
// several seconds. No test may depend on the machine's speed, so the limits are generous: a test
// that hangs still fails, a slow machine does not.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
