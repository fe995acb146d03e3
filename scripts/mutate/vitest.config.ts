// vitest for StrykerJS (stryker.config.mjs): the in-process test files only,
// with the suite's rules (every test asserts something) and without the
// suite's global setup, which builds lib/ and looks for the Node that runs dist/.

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    expect: { requireAssertions: true },
    include: ['__tests__/*.test.ts'],
  },
})
