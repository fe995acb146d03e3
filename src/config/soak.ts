// The soak and its checks: how long the canaries must stay healthy after they
// pass, and the HTTP and Prometheus checks run meanwhile.

import type { CheckSettings } from '../checks.js'
import { redactUserinfo } from '../redact.js'
import type { Mode } from './settings.js'
import {
  fail,
  invalid,
  parseCount,
  parseDurationValue,
  shown,
  splitList,
  type InputValue,
  type Inputs,
} from './values.js'

const CHECK_DURATION = 'must be a positive duration such as 30s, 5m or 1h30m'

export function parseSoak(
  inputs: Inputs,
  mode: Mode,
  timeoutMs: number,
): { soakMs: number; checks: CheckSettings } {
  const soak = inputs.withDefault('soak')
  const soakMs = parseDurationValue(
    soak,
    'must be a non-negative duration such as 30s, 5m or 1h30m',
    // No boundAlways: with allowZero no value is too low (a negative one does not parse).
    { allowZero: true },
  )
  if (soakMs > 0 && mode !== 'promote' && mode !== 'wait') {
    fail(soak, `only applies to modes 'promote' and 'wait' (mode is '${mode}')`)
  }
  if (soakMs >= timeoutMs) {
    fail(soak, `must be shorter than timeout (${shown(soak.value)} is not less than the timeout)`)
  }
  return { soakMs, checks: parseChecks(inputs, soakMs) }
}

function parseChecks(inputs: Inputs, soakMs: number): CheckSettings {
  const urlsValue = inputs.get('check-url')
  const urls = urlsValue ? splitList(urlsValue, 'URLs').map((u) => parseHttpUrl(urlsValue, u)) : []

  const promUrl = inputs.get('prometheus-url')
  const query = inputs.get('prometheus-query')
  const thresholdValue = inputs.get('prometheus-threshold')
  let prometheus: CheckSettings['prometheus']
  if (promUrl || query || thresholdValue) {
    const first = (promUrl ?? query ?? thresholdValue)!
    if (!promUrl || !query || !thresholdValue) {
      fail(first, 'needs all three of prometheus-url, prometheus-query and prometheus-threshold')
    }
    const threshold = Number(thresholdValue.value)
    if (!Number.isFinite(threshold)) invalid(thresholdValue, 'must be a number such as 0.05')
    prometheus = {
      url: parseHttpUrl(promUrl, promUrl.value).replace(/\/+$/, ''),
      query: query.value,
      threshold,
    }
  }

  const options = { boundAlways: true }
  const checks: CheckSettings = {
    urls,
    intervalMs: parseDurationValue(inputs.withDefault('check-interval'), CHECK_DURATION, options),
    timeoutMs: parseDurationValue(inputs.withDefault('check-timeout'), CHECK_DURATION, options),
    failureLimit: parseCount(
      inputs.withDefault('failure-limit'),
      'must be a whole number of failed check runs, 0 or more',
    ),
  }
  if (prometheus) checks.prometheus = prometheus
  if ((urls.length > 0 || prometheus) && soakMs === 0) {
    fail((urlsValue ?? promUrl)!, 'runs during the soak: set soak (e.g. 5m) as well')
  }
  return checks
}

/** One URL of the input `v` (which may hold several), as written. */
function parseHttpUrl(v: InputValue, value: string): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    // reported below
  }
  // A text that starts with http:// or https:// and parses is an http(s) URL:
  // its protocol needs no check of its own.
  if (!url || !/^https?:\/\//i.test(value)) {
    fail(v, `must be http:// or https:// URLs (got ${shown(redactUserinfo(value))})`)
  }
  return value
}
