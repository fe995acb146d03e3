// npm run fuzz [-- --runs N --seed S --lanes L]: many more generated rollouts
// than `npm test` plays (scripts/rollouts), with the seed printed first so a
// failure can be replayed: `npm run fuzz -- --seed S --runs N`.

import { parseArgs } from 'node:util'
import { assertRollouts, newTally } from './rollouts/property.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50000' },
    seed: { type: 'string' },
    lanes: { type: 'string', default: '8' },
  },
})
const runs = Number(values.runs)
const lanes = Number(values.lanes)
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed)
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(lanes) ||
  lanes < 1 ||
  !Number.isInteger(seed)
) {
  console.error('Usage: npm run fuzz -- [--runs N] [--seed S] [--lanes L] (whole numbers)')
  process.exit(2)
}
console.log(`Generated rollouts: ${runs} runs in ${lanes} lanes, seed ${seed}`)
const tally = newTally()
const started = performance.now()
const progress = setInterval(() => {
  const s = Math.round((performance.now() - started) / 1000)
  console.log(`  ${tally.runs}/${runs} runs after ${s} s: ${JSON.stringify(tally.results)}`)
}, 30_000)
try {
  await assertRollouts({ seed, runs, lanes, tally })
  const s = ((performance.now() - started) / 1000).toFixed(0)
  console.log(`All ${tally.runs} rollouts held every check in ${s} s (seed ${seed}).`)
  console.log(JSON.stringify(tally))
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err))
  console.error(`Replay: npm run fuzz -- --seed ${seed} --runs ${runs} --lanes ${lanes}`)
  process.exitCode = 1
} finally {
  clearInterval(progress)
}
