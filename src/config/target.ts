// Which deployment to gate: exactly one of deployment-id (a UUID or a prefix of
// one) and job (with job-version, optionally).

import type { Target } from './settings.js'
import {
  InputError,
  fail,
  invalid,
  isUuidPrefix,
  noWhitespace,
  parseCount,
  type Inputs,
} from './values.js'

export function parseTarget(inputs: Inputs): Target {
  const idValue = inputs.get('deployment-id')
  const jobValue = inputs.get('job')
  const versionValue = inputs.get('job-version')
  if (!idValue && !jobValue) {
    throw new InputError(
      'deployment-id',
      "Input 'deployment-id' or input 'job' is required (exactly one of them)",
    )
  }
  if (idValue && jobValue) {
    throw new InputError(
      'deployment-id',
      "Input 'deployment-id' and input 'job' are both set; give exactly one of them",
    )
  }
  if (idValue) {
    if (versionValue) fail(versionValue, "can only be used with 'job', not with 'deployment-id'")
    const id = idValue.value.toLowerCase()
    if (!isUuidPrefix(id)) {
      invalid(
        idValue,
        'must be a deployment UUID or a prefix of one, such as 5e7f2a1c (hex digits, hyphens where a UUID has them, at most 36 characters)',
      )
    }
    return { deploymentId: id }
  }
  const job = noWhitespace(jobValue, 'a job ID')!
  if (!versionValue) return { job }
  return {
    job,
    jobVersion: parseCount(versionValue, 'must be a job version: a whole number, 0 or more'),
  }
}
