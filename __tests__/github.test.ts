// The deployment reporter against a local fake of GitHub's REST endpoints
// (sim/github.ts), through the real @actions/github client.

import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startGithubFake, type GithubFake, type GithubFakeOptions } from '../sim/github.js'
import { runnerContext } from '../src/config/github.js'
import {
  startDeploymentReporter,
  truncateDescription,
  type GithubDeploymentSettings,
} from '../src/github.js'

const TOKEN = 'ghs_S3cretT0kenValue1234567890abcdefgh'

const fakes: GithubFake[] = []
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()))
})

async function fake(options: GithubFakeOptions = { token: TOKEN }): Promise<GithubFake> {
  const f = await startGithubFake(options)
  fakes.push(f)
  return f
}

/** The variables the runner sets. */
function runnerEnv(apiUrl: string): Record<string, string | undefined> {
  return {
    GITHUB_API_URL: apiUrl,
    GITHUB_SERVER_URL: 'https://github.example.com',
    GITHUB_REPOSITORY: 'octo/app',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  }
}

const RUN_URL = 'https://github.example.com/octo/app/actions/runs/4242'

async function reporter(f: GithubFake, s: Partial<GithubDeploymentSettings> = {}) {
  const lines: string[] = []
  const r = await startDeploymentReporter(
    { ...runnerContext(runnerEnv(f.url)), token: TOKEN, environment: 'production', ...s },
    (line) => lines.push(line),
  )
  return { r, lines }
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('startDeploymentReporter', () => {
  it('creates a deployment, then posts in_progress and success', async () => {
    const f = await fake()
    const { r, lines } = await reporter(f)
    expect(f.deployments).toHaveLength(1)
    const d = f.deployments[0]
    expect(r.deploymentId).toBe(d.id)
    expect(d).toMatchObject({
      repository: 'octo/app',
      ref: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      environment: 'production',
      description: 'Nomad canary gate',
      auto_merge: false,
      required_contexts: [],
    })

    await r.status('in_progress', 'Waiting for 3 canaries of job "web" version 4')
    await r.status('success', 'Promoted deployment 5e2b7c1a: web 3/3 healthy')
    expect(d.statuses).toEqual([
      {
        id: expect.any(Number),
        state: 'in_progress',
        description: 'Waiting for 3 canaries of job "web" version 4',
        log_url: RUN_URL,
        environment: 'production',
      },
      {
        id: expect.any(Number),
        state: 'success',
        description: 'Promoted deployment 5e2b7c1a: web 3/3 healthy',
        log_url: RUN_URL,
        environment: 'production',
      },
    ])
    expect(f.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /repos/octo/app/deployments',
      `POST /repos/octo/app/deployments/${d.id}/statuses`,
      `POST /repos/octo/app/deployments/${d.id}/statuses`,
    ])
    expect(f.requests.every((q) => q.auth === `token ${TOKEN}`)).toBe(true)
    expect(lines).toEqual([])
  })

  it('posts with the ref, repository, log URL and API URL of its settings', async () => {
    const f = await fake()
    const lines: string[] = []
    const r = await startDeploymentReporter(
      {
        token: TOKEN,
        environment: 'staging',
        ref: 'refs/heads/main',
        repository: 'acme/api',
        logUrl: 'https://ci.example.com/build/7',
        apiUrl: `${f.url}/`,
      },
      (line) => lines.push(line),
    )
    await r.status('failure', 'Canaries unhealthy')
    expect(lines).toEqual([])
    expect(f.deployments[0]).toMatchObject({
      id: r.deploymentId,
      repository: 'acme/api',
      ref: 'refs/heads/main',
      environment: 'staging',
      statuses: [
        {
          state: 'failure',
          log_url: 'https://ci.example.com/build/7',
          environment: 'staging',
        },
      ],
    })
  })

  it('posts to a given deployment ID without creating one', async () => {
    const f = await fake()
    const id = f.addDeployment({ ref: 'v1.2.3', environment: 'canary' })
    const { r, lines } = await reporter(f, { deploymentId: id, environment: undefined })
    expect(r.deploymentId).toBe(id)
    await r.status('in_progress', 'Gating')
    await r.status('inactive', 'Superseded')
    expect(lines).toEqual([])
    expect(f.deployments).toHaveLength(1)
    expect(f.requests.map((q) => q.path)).toEqual([
      `/repos/octo/app/deployments/${id}/statuses`,
      `/repos/octo/app/deployments/${id}/statuses`,
    ])
    // No environment given: none is sent, so GitHub keeps the deployment's own.
    expect(f.requests[0].body).not.toHaveProperty('environment')
    expect(f.deployments[0].statuses.map((s) => [s.state, s.environment])).toEqual([
      ['in_progress', 'canary'],
      ['inactive', 'canary'],
    ])
  })

  it('cuts the description to the 140 characters GitHub accepts', async () => {
    const f = await fake()
    const { r, lines } = await reporter(f)
    const long = `Canaries stopped passing during the soak: ${'web 1/3 healthy, 2 unhealthy; '.repeat(10)}`
    await r.status('failure', long)
    expect(lines).toEqual([])
    const posted = f.deployments[0].statuses[0].description
    expect([...posted]).toHaveLength(140)
    expect(posted.endsWith('…')).toBe(true)
    expect(long.startsWith(posted.slice(0, -1))).toBe(true)
  })

  it('posts statuses in the order asked, without waiting between calls', async () => {
    const f = await fake()
    const { r } = await reporter(f)
    await Promise.all([
      r.status('in_progress', 'one'),
      r.status('in_progress', 'two'),
      r.status('success', 'three'),
    ])
    expect(f.deployments[0].statuses.map((s) => s.description)).toEqual(['one', 'two', 'three'])
  })

  it('logs a failing status post and goes on', async () => {
    const f = await fake()
    const { r, lines } = await reporter(f)
    f.failNext(503, 'Service Unavailable')
    await expect(r.status('in_progress', 'Waiting')).resolves.toBeUndefined()
    expect(lines).toEqual([
      `GitHub deployment status "in_progress" not posted to deployment ${r.deploymentId}: HTTP 503: Service Unavailable`,
    ])
    await r.status('success', 'Promoted')
    expect(f.deployments[0].statuses.map((s) => s.state)).toEqual(['success'])
    expect(lines).toHaveLength(1)
  })

  it("logs GitHub's validation errors and permission problems with a hint", async () => {
    const f = await fake()
    const { r, lines } = await reporter(f)
    f.failNext(403, 'Resource not accessible by integration')
    await r.status('success', 'Promoted')
    expect(lines[0]).toBe(
      `GitHub deployment status "success" not posted to deployment ${r.deploymentId}: HTTP 403: Resource not accessible by integration (the token needs the deployments: write permission on the repository)`,
    )
  })

  it('posts to a deployment GitHub does not know: logged, not thrown', async () => {
    const f = await fake()
    const { r, lines } = await reporter(f, { deploymentId: 999 })
    await r.status('success', 'Promoted')
    expect(lines).toEqual([
      'GitHub deployment status "success" not posted to deployment 999: HTTP 404: Not Found (the token needs the deployments: write permission on the repository)',
    ])
  })
})

describe('the token never shows', () => {
  it('in a failed creation with a bad token', async () => {
    const f = await fake({ token: 'ghs_the_right_one' })
    const { r, lines } = await reporter(f)
    expect(r.deploymentId).toBe(0)
    await expect(r.status('success', 'x')).resolves.toBeUndefined()
    expect(lines).toEqual([
      'GitHub deployment not created in octo/app for environment "production": HTTP 401: Bad credentials (the token is invalid or expired)',
    ])
    expect(f.requests).toHaveLength(1) // no status posts to a deployment that is not there
  })

  it('even when an answer echoes it', async () => {
    const f = await fake()
    const { r, lines } = await reporter(f)
    f.failNext(400, `Bad header: Authorization: token ${TOKEN}`)
    await r.status('in_progress', 'x')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('HTTP 400: Bad header: Authorization: token ***')
    expect(lines.join('\n')).not.toContain(TOKEN)
  })

  it('when GitHub cannot be reached', async () => {
    const apiUrl = `http://127.0.0.1:${await closedPort()}`
    const lines: string[] = []
    const r = await startDeploymentReporter(
      { ...runnerContext(runnerEnv(apiUrl)), token: TOKEN, environment: 'production' },
      (line) => lines.push(line),
    )
    expect(r.deploymentId).toBe(0)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^GitHub deployment not created in octo\/app .*connection refused/)
    expect(lines[0]).not.toContain(TOKEN)
  })
})

describe('without what it needs', () => {
  it('logs and does nothing without a repository', async () => {
    const f = await fake()
    const lines: string[] = []
    const env = { ...runnerEnv(f.url), GITHUB_REPOSITORY: undefined }
    const r = await startDeploymentReporter(
      { ...runnerContext(env), token: TOKEN, environment: 'production' },
      (l) => lines.push(l),
    )
    expect(r.deploymentId).toBe(0)
    await r.status('success', 'x')
    expect(f.requests).toEqual([])
    expect(lines[0]).toMatch(
      /^GitHub deployment statuses not posted: the repository must be owner\/repo/,
    )
  })

  it('logs and does nothing without a ref to create a deployment for', async () => {
    const f = await fake()
    const lines: string[] = []
    const env = { ...runnerEnv(f.url), GITHUB_SHA: undefined }
    const r = await startDeploymentReporter(
      { ...runnerContext(env), token: TOKEN, environment: 'production' },
      (l) => lines.push(l),
    )
    expect(r.deploymentId).toBe(0)
    expect(f.requests).toEqual([])
    expect(lines[0]).toMatch(/^GitHub deployment not created: no ref/)
  })

  it('omits log_url when the run URL cannot be made', async () => {
    const f = await fake()
    const env = { ...runnerEnv(f.url), GITHUB_RUN_ID: undefined }
    const r = await startDeploymentReporter(
      { ...runnerContext(env), token: TOKEN, environment: 'production' },
      () => undefined,
    )
    await r.status('in_progress', 'x')
    expect(f.requests[1].body).not.toHaveProperty('log_url')
  })
})

describe('truncateDescription', () => {
  it('keeps short texts, folds whitespace, cuts by code point', () => {
    expect(truncateDescription('ok')).toBe('ok')
    expect(truncateDescription('a\n  b')).toBe('a b')
    const emoji = `${'x'.repeat(138)}🚀🚀🚀`
    const cut = truncateDescription(emoji)
    expect([...cut]).toHaveLength(140)
    expect(cut).toBe(`${'x'.repeat(138)}🚀…`)
    expect(truncateDescription('y'.repeat(140))).toBe('y'.repeat(140))
  })
})

describe('@actions/github', () => {
  it('is imported only when a reporter starts (its import costs start-up time)', () => {
    const source = readFileSync(new URL('../src/github.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/^import\s+(?!type\b)[^;]*['"]@actions\/github['"]/m)
    expect(source).toContain("await import('@actions/github')")
  })
})
