// The README's keyless setup, checked end to end: the auth method config, the
// policy and the binding rule that the README shows (each file of
// examples/nomad/ as it is, the commands as written) make a simulated Nomad
// that lets the example workflow's step, run as dist/index.js, log in with a
// token of its repository and environment, and no other.

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'

import { runScenario } from '../../sim/scenarios.js'
import { OidcIssuer } from '../../sim/oidc.js'
import { startSimulator, type AuthMethodSpec, type Simulator } from '../../sim/simulator.js'
import { runAction } from '../helpers/run.js'

const README = readFileSync('README.md', 'utf8')
const DIR = 'examples/nomad'
const EXAMPLE = 'examples/deploy-keyless.yml'

/** The one README line (with its `\` continuations) that runs `command`. */
function readmeCommand(command: string): string {
  const lines = README.split('\n')
  const at = lines.findIndex((l) => l.startsWith(command))
  expect(at, `the README runs ${command}`).toBeGreaterThanOrEqual(0)
  let text = ''
  for (let i = at; ; i++) {
    text += lines[i].replace(/\\$/, ' ')
    if (!lines[i].endsWith('\\')) return text
  }
}

/** `-name=value` or `-name='value'` of a command line. */
function flag(command: string, name: string): string {
  const m = new RegExp(`-${name}=(?:'([^']*)'|(\\S+))`).exec(command)
  expect(m, `-${name} in ${command}`).not.toBeNull()
  return m![1] ?? m![2]
}

/** The example workflow's step that runs this action: its `with:`. */
function gateInputs(): Record<string, string> {
  const wf = parseYaml(readFileSync(EXAMPLE, 'utf8')) as {
    jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>
  }
  const step = Object.values(wf.jobs)
    .flatMap((j) => j.steps)
    .find((s) => s.uses?.includes('nomad-canary-gate'))
  expect(step?.with).toBeDefined()
  return Object.fromEntries(Object.entries(step!.with!).map(([k, v]) => [k, String(v)]))
}

const running: Array<{ stop(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

/**
 * Nomad as the README sets it up, except that the auth method's JWKSURL is
 * the local issuer's (whose tokens say GitHub's issuer), and a job `web`.
 */
async function readmeNomad(
  claims: Record<string, unknown>,
): Promise<{ s: Simulator; i: OidcIssuer }> {
  const i = await OidcIssuer.start({ claims })
  running.push(i)
  const create = readmeCommand('nomad acl auth-method create')
  const config = JSON.parse(
    readFileSync(join(DIR, flag(create, 'config').slice(1)), 'utf8'),
  ) as AuthMethodSpec['Config']
  expect(config.JWKSURL).toBe('https://token.actions.githubusercontent.com/.well-known/jwks')
  const apply = readmeCommand('nomad acl policy apply').split(' ')
  const [policyName, policyFile] = apply.slice(-2)
  const rule = readmeCommand('nomad acl binding-rule create')
  const s = await startSimulator({
    acl: {
      policies: { [policyName]: readFileSync(join(DIR, policyFile), 'utf8') },
      authMethods: [
        {
          Name: flag(create, 'name'),
          Type: flag(create, 'type') as 'JWT',
          TokenLocality: flag(create, 'token-locality') as 'local',
          MaxTokenTTL: flag(create, 'max-token-ttl'),
          Config: { ...config, JWKSURL: i.jwksUrl },
        },
      ],
      bindingRules: [
        {
          AuthMethod: flag(rule, 'auth-method'),
          BindType: flag(rule, 'bind-type') as 'policy',
          BindName: flag(rule, 'bind-name'),
          Selector: flag(rule, 'selector'),
        },
      ],
    },
  })
  running.push(s)
  runScenario(s, 'healthy')
  return { s, i }
}

describe('the README keyless setup', () => {
  it('shows each file of examples/nomad/ as it is', () => {
    const files = readdirSync(DIR)
    expect(files.sort()).toEqual(['deploy-web.policy.hcl', 'github-auth-method.json'])
    for (const f of files) {
      const lang = f.endsWith('.json') ? 'json' : 'hcl'
      expect(README, `README.md shows ${f}`).toContain(
        `\`\`\`${lang}\n${readFileSync(join(DIR, f), 'utf8')}\`\`\``,
      )
    }
  })

  it("lets the example's step log in and promote with a token of your-org/web in production", async () => {
    const { s, i } = await readmeNomad({ repository: 'your-org/web', environment: 'production' })
    const inputs: Record<string, string> = {
      ...gateInputs(),
      'wait-for-completion': 'false',
      address: s.address,
    }
    expect(inputs['auth-method']).toBe('github')
    const res = await runAction(inputs, i.runnerEnv())
    expect(res.outputs.result, res.stdout).toBe('promoted')
    expect(s.acl!.allTokens().map((t) => t.Policies)).toEqual([['deploy-web']])
    // The README's workflow asks for the same audience as the gate's default.
    expect(readFileSync(EXAMPLE, 'utf8')).toContain('audience=nomad')
    expect(i.requests.map((r) => r.audience)).toEqual(['nomad'])
  })

  it('refuses a token of another repository or another environment', async () => {
    for (const claims of [
      { repository: 'your-org/api', environment: 'production' },
      { repository: 'your-org/web', environment: 'staging' },
    ]) {
      const { s, i } = await readmeNomad(claims)
      const res = await runAction({ ...gateInputs(), address: s.address }, i.runnerEnv())
      expect(res.outputs.result).toBe('error')
      expect(res.outputs.message).toContain('match no binding rule of auth method "github"')
      expect(s.requests).toHaveLength(1)
    }
  })
})
