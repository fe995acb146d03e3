// fail / pause / resume: one write at once, no waiting for the canaries.

import { TERMINAL_DEPLOYMENT_STATUSES } from '../nomad/types.js'
import { GateError } from './errors.js'
import type { Follower } from './follow.js'
import { shortId, type Verdict } from './outcome.js'
import type { RolloutView } from './view.js'
import type { Writer } from './write.js'

const DONE = { fail: 'failed', pause: 'paused', resume: 'running' } as const
const RESULT = { fail: 'failed', pause: 'paused', resume: 'resumed' } as const

export async function actNow(
  mode: 'fail' | 'pause' | 'resume',
  view: RolloutView,
  writer: Writer,
  follower: Follower,
): Promise<Verdict> {
  // A refusal means the deployment changed meanwhile: read it, and judge again.
  for (let tries = 1; ; tries++) {
    const d = view.deployment
    if (d.Status === DONE[mode]) {
      const message = `Deployment ${shortId(d.ID)} is already ${d.Status}; nothing sent`
      return { result: RESULT[mode], ok: true, message }
    }
    if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) {
      throw new GateError(
        `Cannot ${mode} deployment ${shortId(d.ID)}: it is ${d.Status} ("${d.StatusDescription}")`,
      )
    }
    if ((await writer.send(mode)) === 'sent') {
      return {
        result: RESULT[mode],
        ok: true,
        message: `Deployment ${shortId(d.ID)} ${RESULT[mode]}`,
      }
    }
    if (tries === 3) {
      throw new GateError(`Nomad refused to ${mode} deployment ${shortId(d.ID)} ${tries} times`)
    }
    await follower.refresh()
  }
}
