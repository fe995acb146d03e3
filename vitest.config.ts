import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['__tests__/setup/global.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // A test that asserts nothing passes whatever the code does.
    expect: { requireAssertions: true },
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['__tests__/**/*.test.ts'],
          exclude: ['__tests__/docs/**'],
        },
      },
      {
        // After the suite: checks documents against what the suite produced in
        // this run (__tests__/docs/reliability.test.ts).
        extends: true,
        test: {
          name: 'docs',
          include: ['__tests__/docs/**/*.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
