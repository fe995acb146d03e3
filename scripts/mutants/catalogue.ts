// The mutants that only the spawned action (or CLI) can judge: the paths the
// in-process tests never run (the fronts, the signals, the one write, masking,
// the outputs). Each is a bug a reviewer could write, as a named edit of src/;
// `npm run mutate:e2e` (scripts/mutate-e2e.ts) applies each one alone to a
// scratch copy, rebuilds the bundles it needs, runs its test files against
// dist/, and reports it caught (a test failed) or missed (all passed).
//
// An edit whose text is no longer in the file is reported stale, not skipped:
// when src/ changes, change the mutant with it.

export interface Edit {
  /** Text that must occur exactly once in the file. */
  search: string
  replace: string
}

export interface Mutant {
  name: string
  /** The bug, as a reviewer would describe it. */
  bug: string
  file: string
  edits: Edit[]
  /** The bundles the tests spawn: rebuilt with the mutant. */
  bundles: Array<'action' | 'cli'>
  /** Test files that must catch it (each spawns dist/). */
  tests: string[]
}

const ACTION_E2E = '__tests__/e2e/action.test.ts'
const SOAK_E2E = '__tests__/e2e/soak.test.ts'
const CLI_E2E = '__tests__/e2e/cli.test.ts'
const INPUTS = '__tests__/reliability/inputs.test.ts'
const CANCEL = '__tests__/reliability/cancel.test.ts'
const TLS = '__tests__/reliability/tls.test.ts'

export const CATALOGUE: Mutant[] = [
  {
    name: 'mask-after-parse',
    bug: 'secrets are masked once every input parsed, so a bad later input fails the step before the token is masked',
    file: 'src/action.ts',
    edits: [
      {
        search: 'const settings = parseSettings(getInput, env, { onSecret: mask })',
        replace:
          'const settings = parseSettings(getInput, env)\n    settings.secrets.forEach(mask)',
      },
    ],
    bundles: ['action'],
    tests: [INPUTS],
  },
  {
    name: 'mask-multiline-whole',
    bug: 'a multi-line secret (a client key) is masked as one value, which the runner does not match line by line',
    file: 'src/action.ts',
    edits: [
      {
        search:
          '  for (const line of secret.split(/\\r?\\n/)) if (line.trim().length > 3) addMask(line.trim())\n',
        replace: '',
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'on-failure-skipped-on-timeout',
    bug: 'on-failure is applied when a canary is unhealthy but not when the gate times out',
    file: 'src/gate/gate.ts',
    edits: [
      {
        search: 'return verdict.write ? await writer.onFailure(verdict.write, verdict) : verdict',
        replace:
          "return verdict.write && verdict.result !== 'timed-out'\n      ? await writer.onFailure(verdict.write, verdict)\n      : verdict",
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'sigterm-ignored',
    bug: 'only SIGINT cancels the step; SIGTERM (the runner after 7.5 s, docker stop) is ignored',
    file: 'src/step.ts',
    edits: [
      { search: "  process.on('SIGTERM', onSignal)\n", replace: '' },
      { search: "    process.off('SIGTERM', onSignal)\n", replace: '' },
    ],
    bundles: ['action', 'cli'],
    tests: [ACTION_E2E, CLI_E2E],
  },
  {
    name: 'signal-exits-at-once',
    bug: 'a signal exits the process at once, so a promote in flight is applied with no outputs',
    file: 'src/step.ts',
    edits: [
      { search: '    cancel.abort()\n', replace: '    cancel.abort()\n    process.exit(1)\n' },
    ],
    bundles: ['action'],
    tests: [CANCEL],
  },
  {
    name: 'write-aborted-by-signal',
    bug: "the write takes the step's abort signal: a cancellation drops the answer of a promote Nomad applies",
    file: 'src/gate/write.ts',
    edits: [
      {
        search: 'const { body, meta } = await ctx.client.write(request)',
        replace: 'const { body, meta } = await ctx.client.write(request, { signal: ctx.signal })',
      },
    ],
    bundles: ['action'],
    tests: [CANCEL],
  },
  {
    name: 'outputs-before-settle',
    bug: 'the outputs are taken as soon as the write is answered, from the state before it (status, promoted)',
    file: 'src/gate/write.ts',
    edits: [
      {
        search: '  private async settle(kind: WriteKind): Promise<void> {\n',
        replace: '  private async settle(kind: WriteKind): Promise<void> {\n    if (kind) return\n',
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'index-of-the-deployment-read',
    bug: "the index output is the deployment answer's, not the last response's (an allocations answer can be later)",
    file: 'src/gate/gate.ts',
    edits: [
      {
        search: 'index: Math.max(view?.lastIndex ?? 0, writer?.index ?? 0),',
        replace: 'index: view?.deploymentIndex ?? 0,',
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'promote-all-despite-groups',
    bug: 'the promote is sent with All: true although groups were given',
    file: 'src/gate/gate.ts',
    edits: [
      { search: 'groups: settings.groups.length ? [...selected] : [],', replace: 'groups: [],' },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'write-retried-after-4xx',
    bug: 'a write Nomad refused with a 4xx (permission denied) is sent again until the deadline',
    file: 'src/gate/write.ts',
    edits: [
      {
        search:
          "      if (err.kind === 'http' && err.status !== undefined && err.status < 500) throw err\n",
        replace: '',
      },
      {
        search: '      if (!err.retryable && !err.ambiguous) throw err\n',
        replace: "      if (!err.retryable && !err.ambiguous && err.kind !== 'http') throw err\n",
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'failure-exits-0',
    bug: 'a failed gate is reported as a warning and the step passes',
    file: 'src/action.ts',
    edits: [
      {
        search: 'else c.setFailed(headline(outcome))',
        replace: 'else c.warning(headline(outcome))',
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'no-result-on-bad-input',
    bug: 'a step that fails on its inputs sets no result output',
    file: 'src/action.ts',
    edits: [{ search: "    c.setOutput('result', 'error')\n", replace: '' }],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'summary-skipped',
    bug: 'the job summary is not written',
    file: 'src/action.ts',
    edits: [
      {
        search: 'if (env.GITHUB_STEP_SUMMARY) await',
        replace: 'if (!env.GITHUB_STEP_SUMMARY) await',
      },
    ],
    bundles: ['action'],
    tests: [ACTION_E2E],
  },
  {
    name: 'github-success-when-promotable',
    bug: 'mode wait marks the GitHub deployment successful although nothing was promoted yet',
    file: 'src/action.ts',
    edits: [
      {
        search: "return o.result === 'promotable' || o.result.startsWith('would-')",
        replace: "return o.result.startsWith('would-')",
      },
    ],
    bundles: ['action'],
    tests: [SOAK_E2E],
  },
  {
    name: 'skip-verify-silent',
    bug: 'tls-skip-verify turns certificate checks off without the warning',
    file: 'src/step.ts',
    edits: [
      {
        search: '  if (settings.nomad.tls.skipVerify) log.warning(SKIP_VERIFY_WARNING)\n',
        replace: '',
      },
    ],
    bundles: ['action'],
    tests: [TLS],
  },
  {
    name: 'dry-run-writes',
    bug: 'dry-run holds back the promote only: fail, pause and on-failure writes are sent',
    file: 'src/gate/write.ts',
    edits: [
      { search: '    if (o.dryRun) {', replace: "    if (o.dryRun && kind === 'promote') {" },
    ],
    bundles: ['action'],
    tests: [SOAK_E2E],
  },
  {
    name: 'cli-exit-0-on-failure',
    bug: 'the CLI exits 0 when the gate fails',
    file: 'src/cli.ts',
    edits: [{ search: 'return outcome.ok ? 0 : 1', replace: 'return 0' }],
    bundles: ['cli'],
    tests: [CLI_E2E],
  },
]
