// StrykerJS on the gate's pure core: `npm run mutate` (scripts/mutate.ts) runs
// it and writes the figures into docs/reliability.md. Not part of `npm test`.
//
// Only the in-process test files judge a mutant (testFiles): each runs in
// milliseconds against the code under test or the simulator over loopback. The
// e2e and reliability suites spawn dist/, which a mutant of src/ never reaches;
// their paths have their own catalogue (scripts/mutants/, npm run mutate:e2e).
//
// Pinned to 9.x: StrykerJS 10 needs Node 22, while development may run on
// Node 20.19 (package.json devEngines); 9.6 runs on 20 and on the 22+ of CI.
// It runs in the Node of the shell, not the Node 24 of dist/: what it mutates
// is src/, imported by the tests in-process.

/** The pure core: readiness, decisions, the inputs' parsers, durations, the watch loop, retry and error classification, redaction. */
export const mutate = [
  'src/gate/readiness.ts',
  'src/gate/decide.ts',
  'src/gate/view.ts',
  'src/config/values.ts',
  'src/config/parse.ts',
  'src/config/settings.ts',
  'src/config/address.ts',
  'src/config/allocs.ts',
  'src/config/target.ts',
  'src/config/soak.ts',
  'src/config/tls.ts',
  'src/config/pem.ts',
  'src/config/nomad.ts',
  'src/config/github.ts',
  'src/duration.ts',
  'src/nomad/watch.ts',
  'src/nomad/retry.ts',
  'src/nomad/errors.ts',
  'src/network-error.ts',
  'src/redact.ts',
]

/** The tests that judge a mutant: in-process, each file in seconds at most. */
export const testFiles = [
  '__tests__/readiness.test.ts',
  '__tests__/decide.test.ts',
  '__tests__/parsers.test.ts',
  '__tests__/settings.test.ts',
  '__tests__/duration.test.ts',
  '__tests__/client.test.ts',
  '__tests__/redact.test.ts',
  '__tests__/errors.test.ts',
  '__tests__/retry.test.ts',
  '__tests__/watch.test.ts',
  '__tests__/view.test.ts',
]

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'scripts/mutate/vitest.config.ts', related: false },
  mutate,
  testFiles,
  coverageAnalysis: 'perTest',
  // A rerun tests only the mutants whose code or covering tests changed. The
  // file is a cache, not a record: see .gitignore.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  // A static mutant (module-level code: a regex constant, a lookup table) is
  // never active with the vitest runner here: vitest does not evaluate the
  // module again for it, so it "survives" whatever the tests do (seen with
  // SEGMENT in src/duration.ts mutated to match no unit: it survived the 59
  // duration tests). Ignored, they are counted apart in docs/reliability.md
  // instead of as false survivors; only the static part of a mutant is
  // skipped, one that code under test also runs is still judged.
  ignoreStatic: true,
  // Not copied to the sandbox: nothing a test in testFiles reads.
  ignorePatterns: ['/dist', '/lib', '/.cache', '/bench', '/docs', '/examples', '/.github'],
  concurrency: 2,
  cleanTempDir: 'always',
}
