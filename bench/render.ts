// bench/results.json -> the README's "Performance" section, in Markdown.
//   node lib/bench/render.js            print it
//   node lib/bench/render.js --readme   also put it into bench/README.md, between
//                                       the <!-- bench:start --> and <!-- bench:end --> markers
// (npm run bench:render -- --readme)

import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { goals } from './goals.js'
import { ROOT } from '../scripts/run-dist.js'
import type { Results } from './results.js'
import type { Summary } from './stats.js'
import { renderCost, renderFleet } from './render-cost.js'

export const RESULTS = join(ROOT, 'bench/results.json')
export const README = join(ROOT, 'bench/README.md')
const START = '<!-- bench:start -->'
const END = '<!-- bench:end -->'

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  // Thresholds sit just below the powers of ten so that 99.99 prints as 100, not 100.0.
  if (x >= 999.5) return `${(x / 1000).toFixed(x >= 9_995 ? 1 : 2)} s`
  if (x >= 99.95) return `${x.toFixed(0)} ms`
  if (x >= 9.995) return `${x.toFixed(1)} ms`
  if (x >= 0.09995) return `${x.toFixed(2)} ms`
  return `${(x * 1000).toFixed(0)} µs`
}

function seconds(s: number): string {
  return s >= 120 ? `${(s / 60).toFixed(s % 60 ? 1 : 0)} min` : `${s} s`
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-'
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)} kB`
  return `${n} B`
}

export function times(x: number): string {
  return x >= 100 ? `${Math.round(x)}x` : `${x.toFixed(1)}x`
}

export function table(head: string[], align: string, rows: string[][]): string {
  const sep = [...align].map((a) => (a === 'r' ? '--:' : '---'))
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

export function renderMarkdown(r: Results): string {
  const out: string[] = []
  const env = r.env
  const commit = env.commit ? `, commit \`${env.commit}\`` : ', no recorded commit'
  const distNode =
    env.distNode && env.distNode !== env.node ? ` (dist/ on Node ${env.distNode})` : ''
  out.push('## Performance', '')
  if (env.dirty || !env.commit) {
    out.push(
      `> **Measured on ${env.commit ? `commit \`${env.commit}\` with uncommitted changes` : 'code of no recorded commit'}: these figures describe no commit.**`,
      '',
    )
  }
  out.push(
    `Measured with \`npm run bench\`${r.quick ? ' (`--quick`: fewer samples)' : ''} on ${env.cpu} (${env.cpus} cores), Node ${env.node}${distNode}, ${env.platform}, ${r.generatedAt.slice(0, 10)}${commit}; the run took ${Math.round(r.runSeconds)} s, with a load average of ${env.loadAverage[0].toFixed(2)} at its start and ${env.loadAverage[1].toFixed(2)} at its end. ` +
      'Everything runs on loopback against the built-in Nomad simulator, which the benchmark starts and stops, and every figure is measured in the same run as its baseline. ' +
      `Noise: this machine's ${env.cpus} cores are shared with other work (the load averages above; ${env.loadAverage[0] > env.cpus ? 'more processes wanted a core than there were cores' : 'below one process per core'}), so absolute times move between runs by tens of percent, and the tails (p99, max) most; ` +
      'the comparisons are made in the same run, taking turns (start-up ratios pair each run with the bare request of its round), and are steadier than the times. ' +
      `To reproduce: \`npm ci && npm run node24 && npm run build && npm run bench\` (${Math.round(r.runSeconds / 60)} min here; \`npm run bench:quick\` takes about a third of that, with fewer samples, and writes nothing). ` +
      'It prints these tables and writes `bench/results.json`; `npm run bench:render` turns that file back into this section.',
    '',
  )
  out.push(
    table(
      ['goal', 'target', 'measured', ''],
      'llll',
      // Verdicts from the figures, not the stored ones.
      goals(r).map((g) => [g.name, g.goal, g.measured, g.met ? 'met' : '**missed**']),
    ),
    '',
  )

  // Latency
  const L = r.latency
  const g = L.gate.latency
  const A = L.action
  out.push('### Reaction latency', '')
  out.push(
    'From the simulator applying the change that makes the last canary healthy to the promote request arriving at it ' +
      '(one clock: both are `performance.now()` in the benchmark process, which runs the simulator). ' +
      `Each rollout: ${L.scenario}. ` +
      'The headline is the built action as the runner runs it: `node dist/index.js` with `INPUT_*` variables and the default `watch: auto` (it follows the event stream), a fresh process for every rollout (`scripts/run-dist.ts`, on the Node that runs `dist/`), its code as cold as in a pipeline; the ratios are to these figures. ' +
      'The CLI (`node dist/cli/index.js promote`) is run the same way, the two taking turns. ' +
      `The last row is the gate in-process through \`runGate\` with a real \`NomadClient\` (what the CLI runs), one rollout at a time, after ${L.gate.warmup} unmeasured warm-up rollouts: what the code does once V8 has optimised it. ` +
      'The baselines are fixed-interval pollers written for the benchmark (`bench/poller.ts`: GET the deployment, GET its allocations, the same `evaluate()`, promote when ready, else sleep), ' +
      'each started at a random point of its interval, their rollouts running concurrently on the same simulator.',
    '',
  )
  const row = (name: string, s: Summary, extra: string) => [
    name,
    String(s.n),
    ms(s.p50),
    ms(s.p95),
    ms(s.p99),
    ms(s.max),
    extra,
  ]
  const pct = (x: number) => `${Math.round(x * 100)} %`
  out.push(
    table(['', 'rollouts', 'p50', 'p95', 'p99', 'max', 'promote on a warm connection'], 'lrrrrrr', [
      row(
        `action, a fresh process per rollout (followed by ${A.followedBy})`,
        A.latency,
        pct(A.warmConnection),
      ),
      ...(L.actionBlocking
        ? [
            row(
              'action, `watch: blocking`, a fresh process per rollout',
              L.actionBlocking.latency,
              pct(L.actionBlocking.warmConnection),
            ),
          ]
        : []),
      row('CLI, a fresh process per rollout', L.cli.latency, pct(L.cli.warmConnection)),
      row(`in-process, after ${L.gate.warmup} rollouts`, g, ''),
      ...L.pollers.map((p) =>
        row(
          `poller, every ${ms(p.intervalMs)}`,
          p.latency,
          `${p.readsPerRollout.p50} reads in ${ms(p.rolloutMs.p50)}`,
        ),
      ),
      ...L.pollers.map((p) => [
        `*${ms(p.intervalMs)} poller / action*`,
        '',
        times(p.ratio.p50),
        times(p.ratio.p95),
        times(p.ratio.p99),
        times(p.ratio.max),
        '',
      ]),
    ]),
    '',
  )
  const b = L.gate.breakdown
  out.push(
    `Where the action's time goes (medians): ${ms(A.breakdown.simulatorMs)} in the simulator (the change applied and its event line written), ` +
      `then ${ms(A.breakdown.gateMs)} until the promote request has arrived (the gate's process reading the line, deciding, sending the promote, and the wire)` +
      (L.actionBlocking
        ? `; with \`watch: blocking\`, ${ms(L.actionBlocking.breakdown.simulatorMs)} in the simulator (its held blocking queries woken, both answers written) and ${ms(L.actionBlocking.breakdown.gateMs)} in the gate's process (reading both answers, which arrive one after the other, deciding, sending). `
        : '. ') +
      `A promote on a warm connection is one sent on a keep-alive socket that had carried an earlier request; otherwise it waited for a new connection. ` +
      `In-process, warm: ${ms(b.simulatorMs)} in the simulator, ${ms(b.gateMs)} in the gate until it starts the promote request, ${ms(b.wireMs)} until the request arrives; ` +
      `the first rollout of that process, with every code path still cold, reacted in ${ms(L.gate.coldMs)}. ` +
      `Reads per rollout: ${L.gate.readsPerRollout.p50} (resolve, first reads, one blocking read of each kind per change).`,
    '',
  )

  // Soak
  if (r.soak) {
    out.push('### Soak', '')
    out.push(
      `What a ${ms(r.soak.soakMs)} soak with a URL check every ${ms(r.soak.intervalMs)} adds to a rollout whose canaries are already healthy, against the same rollout without a soak (${r.soak.baselineReads} reads before the promote). ` +
        'The blocking queries stay held through the soak: it adds the two held queries, two reads per change during it (a change wakes the deployment query and the allocations query), and one request per check run. Changes here are allocations placed, which keep the canaries passing.',
      '',
    )
    out.push(
      table(
        ['changes during the soak', 'Nomad reads added', 'at most', 'check runs', 'check requests'],
        'rrrrr',
        r.soak.rows.map((row) => [
          String(row.changes),
          String(row.addedReads),
          String(row.goalReads),
          String(row.checkRuns),
          String(row.checkRequests),
        ]),
      ),
      '',
    )
  }

  // Economy
  const E = r.economy
  const pollers = E.rows[0]?.pollers ?? []
  out.push('### Request economy', '')
  out.push(
    "Requests per gated rollout when *k* canaries turn healthy one at a time (one health change each), counted in the simulator's request log, median of the repetitions. " +
      "*While waiting* is every read before the promote request: resolving the target, the first (non-blocking) reads, and the blocking queries on the deployment and on its allocations (a health change wakes both: it moves the deployment's counters too). " +
      'The gate then sends the promote and reads the deployment back once for its outputs. ' +
      "The gate's count does not depend on how far apart the changes come (a blocking query costs one read per change however long it waits, up to its 5 minute `wait`); " +
      `a poller's is all time, so it is computed for the same rollout with the changes ${E.modelSpacingS} s apart (Nomad's default \`min_healthy_time\`): 2 reads per poll, from the start to the first poll after the last change.`,
    '',
  )
  out.push(
    table(
      [
        '*k*',
        'reads while waiting',
        'resolve / first / blocking',
        'goal 2k+3',
        'then',
        'modelled rollout',
        ...pollers.map((p) => `${ms(p.intervalMs)} poller reads`),
      ],
      'rrrrrr' + 'r'.repeat(pollers.length),
      E.rows.map((row) => [
        String(row.changes),
        row.waitingMax !== row.waiting
          ? `${row.waiting} (max ${row.waitingMax})`
          : String(row.waiting),
        `${row.kinds.resolve} / ${row.kinds.initial} / ${row.kinds.blocking}`,
        String(row.goal),
        `${row.writes} write, ${row.afterPromote} read`,
        seconds(row.modelSeconds),
        ...row.pollers.map((p) => String(p.reads)),
      ]),
    ),
    '',
  )

  // Start-up
  const S = r.startup
  out.push('### Start-up', '')
  out.push(
    'Wall time of the built bundles as their users run them (the action with `INPUT_*` variables and `GITHUB_OUTPUT`/`GITHUB_STEP_SUMMARY` files, as the runner does; the CLI with arguments and `NOMAD_ADDR`), ' +
      "from spawn to the first request the simulator receives, and to exit, on a deployment whose canaries are already healthy (the gate resolves the job's deployment, reads it and its allocations, promotes, reads it back). " +
      'The yardstick is `bench/bare-request.ts`, a Node script that sends one `node:http` request to the same endpoint and nothing else, spawned exactly as the action is; ' +
      `\`node -e 0\` is Node's own floor. ${S.rows[0]?.runs ?? 0} runs each, taking turns, after one unmeasured round. ` +
      (S.strippedVars.length
        ? `The first four rows run without this machine's ${S.strippedVars.map((v) => `\`${v}\``).join(' and ')}, as a GitHub-hosted runner would; the last two keep ${S.strippedVars.length > 1 ? 'them' : 'it'}, to show what ${S.strippedVars.length > 1 ? 'they cost' : 'it costs'} (every Node process pays it, before running anything).`
        : 'No Node start-up variables (`NODE_OPTIONS`, `NODE_EXTRA_CA_CERTS`) were set.') +
      (S.bundlesOlderThanSources
        ? ' **`dist/` was older than `src/` in this run: these rows are of an earlier build than the other sections.**'
        : '') +
      (S.bundlesRebuiltDuringRun
        ? ' **`dist/` was rebuilt while these rows were measured: they mix two builds.**'
        : ''),
    '',
  )
  out.push(
    table(
      ['command', 'first request (min / median)', 'exit (min / median)', 'bundle'],
      'lrrr',
      S.rows.map((row) => [
        `\`${row.command.split(', ')[0]}\`${row.command.includes(', ') ? `, ${row.command.split(', ').slice(1).join(', ')}` : ''}`,
        row.firstRequest ? `${ms(row.firstRequest.min)} / ${ms(row.firstRequest.median)}` : '-',
        `${ms(row.exit.min)} / ${ms(row.exit.median)}`,
        bytes(row.bundleBytes),
      ]),
    ),
    '',
  )
  out.push(
    `Spawn to first request over the bare request's, run by run (the median of the ratios of runs taken in turn; the ratio of the medians in brackets): ` +
      S.ratios
        .map((x) => `${x.name} ${x.pairedMedian.toFixed(2)}x (${x.ofMedians.toFixed(2)}x)`)
        .join(', ') +
      '.',
    '',
  )

  // Scale
  out.push('### Scale', '')
  out.push(
    "Client-side cost of one health change as the deployment grows: groups of 25 canaries each, bodies made by the simulator's state store and serialized as its API serves them " +
      '(an allocation stub is about 1 kB of JSON; a real Nomad adds task events). ' +
      'Alone: UTF-8 decoding and `JSON.parse` of the allocations body, and `evaluate()` (the readiness rule) on freshly parsed objects. ' +
      "An *update* is one change end to end through the real `NomadClient` and `runGate`, against a loopback replay server that holds the gate's blocking queries and answers them with pre-serialized bytes (so the server's own cost is left out): " +
      "from writing the deployment and allocations answers of a change to receiving both of the gate's next blocking queries. " +
      'It includes reading, decoding and parsing both bodies, an `evaluate()` and the health-change log after each, and the watch loop.',
    '',
  )
  out.push(
    table(
      [
        'groups',
        'allocations',
        'allocations body',
        'decode',
        'JSON.parse',
        'evaluate()',
        'update p50',
        'update p95',
        'update per allocation',
      ],
      'rrrrrrrrr',
      r.scale.rows.map((row) => [
        String(row.groups),
        row.allocs.toLocaleString('en-US'),
        bytes(row.allocBodyBytes),
        ms(row.decodeMs),
        ms(row.parseAllocsMs),
        ms(row.evaluateMs),
        ms(row.update.p50),
        ms(row.update.p95),
        `${row.updateUsPerAlloc.toFixed(1)} µs`,
      ]),
    ),
    '',
  )
  out.push(...renderCost(r), ...renderFleet(r))
  return out.join('\n') + '\n'
}

/** Writes `text` to `path` (through a temporary file), formatted as the project's Prettier would, so `npm run lint` stays clean. */
export async function writeFormatted(path: string, text: string): Promise<void> {
  let out = text
  try {
    const prettier = await import('prettier')
    const options = (await prettier.resolveConfig(path)) ?? {}
    out = await prettier.format(text, { ...options, filepath: path })
  } catch {
    // Prettier is a devDependency: without it the file is written as it is.
  }
  writeFileSync(`${path}.tmp`, out)
  renameSync(`${path}.tmp`, path)
}

/** The project's README carries the same section between the same markers. */
const TOP_README = join(ROOT, 'README.md')

/** Replaces the text between the markers in bench/README.md (or another file). */
export async function updateReadme(markdown: string, path = README): Promise<void> {
  const text = readFileSync(path, 'utf8')
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) throw new Error(`${path}: no ${START} ... ${END} markers`)
  await writeFormatted(path, `${text.slice(0, a + START.length)}\n\n${markdown}\n${text.slice(b)}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = JSON.parse(readFileSync(RESULTS, 'utf8')) as Results
  const markdown = renderMarkdown(results)
  process.stdout.write(markdown)
  if (process.argv.includes('--readme')) {
    await updateReadme(markdown)
    await updateReadme(markdown, TOP_README)
  }
}
