// npm run build:dist: the committed bundles, from a clean dist/.
//   dist/index.js (+ chunks)  the action (action.yml: runs.main), dist/licenses.txt
//   dist/cli/index.js         the command line (package.json: bin), dist/cli/licenses.txt
//   dist/sources.sha256       what they were built from (scripts/dist-sources.ts)
// dist/ is removed first: ncc never deletes a file it stopped producing (a
// chunk such as dist/413.index.js), and a stale file in dist/ ships.
//
// licenses.txt lists every package whose code is in that bundle, read from
// webpack's module list (ncc --stats-out), with its license and license text.
// ncc's own --license output misses most of them (for the action: all but
// two of some twenty), so it is not used. scripts/licenses.ts checks them.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeDistSources } from './dist-sources.js'
import { ROOT } from './run-dist.js'

const NCC = join(ROOT, 'node_modules/@vercel/ncc/dist/ncc/cli.js')

interface Stats {
  modules?: StatsModule[]
}
interface StatsModule {
  identifier?: string
  name?: string
  modules?: StatsModule[]
}

/** The package folders (relative to the repository) whose modules are in a bundle. */
export function bundledPackages(stats: Stats): string[] {
  const dirs = new Set<string>()
  const walk = (modules: StatsModule[] = []) => {
    for (const m of modules) {
      // The resource after the loaders (`loader!loader!/path/to/file`), relative to the repository.
      const resource = (m.identifier ?? m.name ?? '').split('!').at(-1)!.replace(/\\/g, '/')
      const root = ROOT.replace(/\\/g, '/').replace(/\/?$/, '/')
      const path = resource.startsWith(root) ? resource.slice(root.length) : resource
      // The innermost node_modules/<name> (or @scope/<name>) holds the module.
      const at = path.lastIndexOf('node_modules/')
      if (at >= 0 && !path.startsWith('.') && !path.startsWith('/')) {
        const rest = path.slice(at + 'node_modules/'.length).split('/')
        const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
        dirs.add(`${path.slice(0, at)}node_modules/${name}`)
      }
      walk(m.modules)
    }
  }
  walk(stats.modules)
  return [...dirs].sort()
}

export interface LicenseEntry {
  name: string
  version: string
  license: string
  text: string
}

export function licenseEntry(dir: string): LicenseEntry {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
    name: string
    version: string
    license?: string | { type?: string }
  }
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN')
  const file = readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
  const text = file ? readFileSync(join(ROOT, dir, file), 'utf8').trim() : ''
  return { name: pkg.name, version: pkg.version, license, text }
}

/** What licenses.txt says of a bundle that holds no package's code (the CLI's: node: modules only). */
export const NONE_BUNDLED = 'No third-party package is bundled.'

/** licenses.txt: for each package, `name version`, its license, its license text; blank line between. */
export function renderLicenses(entries: LicenseEntry[]): string {
  if (entries.length === 0)
    return `${NONE_BUNDLED}
`
  return entries
    .map(
      (e) =>
        `${e.name} ${e.version}\n${e.license}\n${e.text || '(no license file in the package)'}\n`,
    )
    .join('\n')
}

function ncc(entry: string, out: string): void {
  const work = mkdtempSync(join(tmpdir(), 'build-dist-'))
  try {
    const stats = join(work, 'stats.json')
    const args = [NCC, 'build', entry, '-o', out, '--target', 'es2022', '--stats-out', stats]
    const res = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' })
    if (res.status !== 0 || !existsSync(stats)) {
      process.stderr.write(`ncc build ${entry} failed\n`)
      process.exit(res.status || 1)
    }
    const dirs = bundledPackages(JSON.parse(readFileSync(stats, 'utf8')) as Stats)
    const entries = dirs.map(licenseEntry)
    // One entry per package and version (the same one can sit in two folders).
    const unique = [...new Map(entries.map((e) => [`${e.name}@${e.version}`, e])).values()]
    writeFileSync(join(ROOT, out, 'licenses.txt'), renderLicenses(unique))
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

const invoked = process.argv[1]?.endsWith('build-dist.js')
if (invoked) {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true })
  ncc('src/main.ts', 'dist')
  ncc('src/cli.ts', 'dist/cli')
  writeDistSources(ROOT)
}
