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
        // this run (__tests__/docs/reliability.test.ts), and against what the
        // gate prints (troubleshooting.test.ts: four runs of dist/ at a time,
        // which a 2-core runner takes without a case missing its deadline).
        extends: true,
        test: {
          name: 'docs',
          include: ['__tests__/docs/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          maxConcurrency: 4,
        },
      },
    ],
  },
})
