// Entry of the action's bundle (dist/index.js).
import { run } from './action.js'

await run()
