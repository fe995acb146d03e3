// What a person reads (through dist/): the message and the job summary say in
// words what on-failure did, leave out empty fields, and link the deployment in
// Nomad's UI; the CLI names options, not inputs, in the gate's own messages.

import { afterEach, describe, expect, it } from 'vitest'
import { runScenario } from '../../sim/scenarios.js'
import { startSimulator, type Simulator } from '../../sim/simulator.js'
import { runAction, runCli } from '../helpers/run.js'

const sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()))
})

async function sim(): Promise<Simulator> {
  const s = await startSimulator()
  sims.push(s)
  return s
}

describe('the action', () => {
  it('says what on-failure did, in the message, the log and the summary', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const res = await runAction(
      { address: s.address, job: 'web', timeout: '400ms', 'on-failure': 'pause' },
      {},
      { limitMs: 10_000 },
    )
    expect(res.outputs.result).toBe('timed-out')
    const said = `Paused deployment ${run.deploymentId.slice(0, 8)} after the deadline (on-failure: pause)`
    expect(res.outputs.message).toMatch(/^Timed out after 400ms: .*\. Paused deployment /)
    expect(res.outputs.message).toContain(said)
    expect(res.stdout).toContain(`::error::failed: timed-out in`)
    expect(res.stdout).toContain(said)
    expect(res.summary).toContain(said)
    expect(s.deployment(run.deploymentId)?.Status).toBe('paused')
  })

  it('links the deployment in Nomad UI and leaves empty fields out', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const res = await runAction(
      { address: s.address, job: 'web', timeout: '300ms', 'on-failure': 'pause' },
      {},
      { limitMs: 10_000 },
    )
    const link = `${s.address}/ui/jobs/web@default/deployments`
    expect(res.summary).toContain(`[The deployment in Nomad's UI](${link})`)
    expect(res.stdout).toContain(`In Nomad's UI: ${link}`)
    // A pause creates no evaluation: no `EvalID (none)`, no `EvalCreateIndex 0`.
    expect(res.outputs['eval-id']).toBe('')
    expect(res.summary).not.toContain('(none)')
    expect(res.summary).not.toMatch(/\b(EvalID|EvalCreateIndex) ?`?0?`?(,|$)/m)
    expect(res.summary).toMatch(/Nomad's answer to the write: DeploymentModifyIndex \d+/)
    expect(res.stdout).toMatch(/Sent pause: DeploymentModifyIndex \d+/)
    expect(s.deployment(run.deploymentId)?.Status).toBe('paused')
  })
})

describe('the CLI', () => {
  it("names options in the gate's messages: --groups, not input 'groups'", async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const res = await runCli(['wait', '--job', 'web', '--groups', 'nope'], {
      NOMAD_ADDR: s.address,
    })
    expect(res.code).toBe(1)
    expect(res.stdout).toMatch(
      /^message=Option '--groups': deployment [0-9a-f]{8} has no task group "nope"/m,
    )
    expect(res.stderr).toContain("Option '--groups'")
    expect(res.stdout + res.stderr).not.toContain("Input '")
  })

  it('prints the UI link under the summary', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const res = await runCli(['wait', '--job', 'web'], { NOMAD_ADDR: s.address })
    expect(res.code).toBe(0)
    expect(res.stderr).toContain(`Nomad UI: ${s.address}/ui/jobs/web@default/deployments`)
  })
})
