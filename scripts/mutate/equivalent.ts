// Survivors of `npm run mutate` judged equivalent: no test can tell the mutant
// from the code, because no input reaches a different outcome. Stryker's own
// way to say so is a `// Stryker disable next-line` comment in src/; these live
// here instead, so src/ carries no tool's comments. scripts/mutate.ts matches
// each survivor by file, mutator and text (not line), and docs/reliability.md
// lists them with the reason. A survivor not listed wants a test.

export interface Equivalent {
  file: string
  mutator: string
  /** The code as written (whitespace-insensitive). */
  original: string
  /** The mutant's code, as Stryker prints it. */
  replacement: string
  why: string
}

export const EQUIVALENT: Equivalent[] = []
