import type { Result } from './outcome.js'

/** A failure of the gate's own (bad target, unknown group, refused version): reported, not retried. */
export class GateError extends Error {
  override name = 'GateError'
  constructor(
    message: string,
    readonly result: Result = 'error',
  ) {
    super(message)
  }
}
