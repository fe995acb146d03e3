// The cost sections of the Performance section (render.ts): cost per change by
// `watch` and size (cost.ts), and the fleet (fleet.ts), with what the fleet's
// figures imply over a quiet time longer than the run, from Nomad's documented
// timings (nomad/structs/structs.go MaxBlockingRPCQueryTime and JitterFraction,
// nomad/event_endpoint.go's 30 s heartbeat).

import type { FleetRow, Results } from './results.js'
import { bytes, ms, table } from './format.js'

/** A held blocking query is answered after Nomad's 5 minute wait plus its mean jitter (wait/16, uniform). */
export const BLOCKING_HOLD_S = 300 * (1 + 1 / 32)
/** An event stream's heartbeat period, and what one writes (`{}` and a newline). */
export const HEARTBEAT_S = 30
export const HEARTBEAT_BYTES = 3

const n = (x: number) => x.toLocaleString('en-US')
const rate = (x: number) => (x >= 100 ? n(Math.round(x)) : x >= 1 ? x.toFixed(1) : x.toFixed(2))
const perS = (b: number) => `${bytes(Math.round(b))}/s`

/** Requests and bytes per second a fleet row costs the server over a long quiet time. */
export function longRunQuiet(row: FleetRow): { requests: number; sent: number; received: number } {
  if (row.followedBy === 'polling') {
    return {
      requests: row.quiet.requestsPerSecond,
      sent: row.quiet.bytesSentPerSecond,
      received: row.quiet.bytesReceivedPerSecond,
    }
  }
  if (row.followedBy === 'events') {
    return { requests: 0, sent: (row.gates * HEARTBEAT_BYTES) / HEARTBEAT_S, received: 0 }
  }
  // Blocking: every held query is answered once per hold with the body it would send on a change.
  const c = row.perChange
  const perAnswer = c && c.answers > 0 ? c.bytesSent / c.answers : 0
  const perRequest = c && c.requests > 0 ? c.bytesReceived / c.requests : 0
  const requests = row.held / BLOCKING_HOLD_S
  return { requests, sent: requests * perAnswer, received: requests * perRequest }
}

export function renderCost(r: Results): string[] {
  const C = r.cost
  if (!C) return []
  const out: string[] = []
  out.push('### Cost per change', '')
  out.push(
    `What one canary health change costs the gate as the deployment grows (groups of ${C.perGroup} running canaries), with each way of following it. ` +
      'The gate is the built action, spawned as the runner spawns it, one process per row; once it waits, canaries turn healthy one at a time, and after each, once the gate has taken the change in (its CPU idle again, and with blocking queries both held again), ' +
      "the benchmark reads the gate process's CPU time (all its threads, from `/proc/<pid>/task/*/schedstat`), the bytes the simulator sent on its connections and the requests it sent. " +
      'The first columns are per change; *until waiting* is what the gate took to read the deployment and start waiting (its process start included). ' +
      '`watch: events` counts only where the gate opened the event stream; a build that takes the input but still follows by blocking queries says so.',
    '',
  )
  out.push(
    table(
      [
        'allocations',
        '`watch`',
        'followed by',
        'changes',
        'CPU p50',
        'CPU p95',
        'bytes sent to the gate',
        'requests',
        'until waiting: CPU / bytes',
        'peak RSS',
      ],
      'rllrrrrrrr',
      C.rows.map((row) => [
        n(row.allocs),
        row.watch,
        row.followedBy === row.watch ? row.followedBy : `**${row.followedBy}**`,
        String(row.changes),
        ms(row.cpuMs.p50),
        ms(row.cpuMs.p95),
        bytes(row.bytesPerChange),
        String(row.requestsPerChange),
        `${ms(row.startup.cpuMs)} / ${bytes(row.startup.bytes)}`,
        bytes(row.peakRssBytes),
      ]),
    ),
    '',
  )
  const ev = C.rows.filter((row) => row.watch === 'events' && row.followedBy === 'events')
  const bl = C.rows.filter((row) => row.watch === 'blocking')
  const first = ev[0]
  const last = ev[ev.length - 1]
  const blFirst = bl[0]
  const blLast = bl[bl.length - 1]
  if (first && last && blFirst && blLast) {
    const perGroup = last.bytesPerChange / (last.allocs / C.perGroup)
    out.push(
      `With \`watch: blocking\` a change costs a re-read of every allocation: ${bytes(blFirst.bytesPerChange)} and ${ms(blFirst.cpuMs.p50)} at ${n(blFirst.allocs)} allocations, ${bytes(blLast.bytesPerChange)} and ${ms(blLast.cpuMs.p50)} at ${n(blLast.allocs)}. ` +
        `With \`watch: events\` the allocation is sent alone, but the bytes still grow, ${bytes(first.bytesPerChange)} at ${n(first.allocs)} allocations to ${bytes(last.bytesPerChange)} at ${n(last.allocs)}, about ${bytes(Math.round(perGroup))} per task group: ` +
        "an allocation's health change also moves its deployment's counters (`HealthyAllocs` of its group) in the same raft transaction, and Nomad publishes every changed deployment as a `Deployment` event with the whole object (nomad/state/events.go, `eventFromChange` on the `deployment` table), " +
        'each group with its `PlacedCanaries` IDs. The gate cannot subscribe to less: an allocation event alone does not say when the deployment is promotable. ' +
        `So at ${n(last.allocs)} allocations the 20 kB per change goal cannot be met against Nomad as it is, and the CPU per change follows the bytes: parsing the line (JSON.parse of the whole deployment), then the per-group state and the progress log, which a profile of the action shows walking every group's canaries on each deployment event. ` +
        'Both still cost a fraction of a re-read of the allocations, and the cost grows with the number of groups, not of allocations.',
      '',
    )
  }
  return out
}

export function renderFleet(r: Results): string[] {
  const F = r.fleet
  if (!F || F.rows.length === 0) return []
  const out: string[] = []
  const gates = F.rows[0].gates
  out.push('### The fleet', '')
  out.push(
    `${n(gates)} gates waiting at once on one simulator, each on its own deployment (the rollout above), against as many 1 s pollers. ` +
      `The gates run in-process (\`runGate\` with a real \`NomadClient\` each, as the CLI runs it), ${F.rows[0].processes} Node processes sharing them, on the Node that runs \`dist/\`. ` +
      `*Quiet*: once every gate waits, over ${ms(F.quietMs)}: requests and bytes on the simulator's sockets, and the CPU of the process that runs it. ` +
      '*Per change*: one canary turns healthy in a share of the deployments, a few milliseconds apart, until every gate waits again (the server CPU includes the simulator applying the change). ' +
      '*Memory per gate*: the resident memory of the processes once every gate waits, less that of a process with the same modules and nothing waiting, per gate.',
    '',
  )
  const label = (row: FleetRow) =>
    row.kind === 'poller'
      ? 'pollers, every 1 s'
      : `gates, \`watch: ${row.watch}\`${row.followedBy !== row.watch ? ` (followed by ${row.followedBy})` : ''}`
  out.push(
    table(
      [
        '',
        'held',
        'connections',
        'quiet: requests/s',
        'quiet: sent',
        'quiet: server CPU',
        'per change: requests',
        'per change: sent',
        'per change: server CPU',
        'memory per gate',
      ],
      'lrrrrrrrrr',
      F.rows.map((row) => [
        label(row),
        n(row.held),
        n(row.quiet.connections),
        rate(row.quiet.requestsPerSecond),
        perS(row.quiet.bytesSentPerSecond),
        `${row.quiet.serverCpuPercent.toFixed(0)} %`,
        row.perChange ? String(row.perChange.requests) : '-',
        row.perChange ? bytes(row.perChange.bytesSent) : '-',
        row.perChange ? ms(row.perChange.serverCpuMs) : '-',
        `${bytes(row.memory.rssPerGateBytes)}`,
      ]),
    ),
    '',
  )
  const long = F.rows.map((row) => ({ row, q: longRunQuiet(row) }))
  out.push(
    `Over a quiet time longer than the window (modelled from the figures above): a blocking gate's held queries are each answered once per ${Math.round(BLOCKING_HOLD_S)} s (Nomad's 5 minute wait and its mean jitter) with the body a change would send, then sent again; ` +
      `a stream sends a ${HEARTBEAT_BYTES}-byte heartbeat every ${HEARTBEAT_S} s; a poller costs what was measured. For ${n(gates)} of each: ` +
      long
        .map(
          ({ row, q }) =>
            `${label(row)} ${rate(q.requests)} requests/s, ${perS(q.sent)} sent, ${perS(q.received)} received`,
        )
        .join('; ') +
      '.',
    '',
  )
  const by = (f: FleetRow['followedBy']) => F.rows.find((row) => row.followedBy === f)
  const events = by('events')
  const blocking = by('blocking')
  const polling = by('polling')
  if (events && blocking && polling) {
    out.push(
      `What it implies for a Nomad cluster serving many pipelines: ${n(gates)} waiting gates cost the servers next to nothing while nothing changes with either \`watch\`, where ${n(gates)} pollers cost ${rate(polling.quiet.requestsPerSecond)} requests/s and ${perS(polling.quiet.bytesSentPerSecond)} of answers without end, each a state-store read and a JSON encoding on a Nomad server. ` +
        `What they hold is connections: ${n(blocking.quiet.connections)} with blocking queries (two held queries per gate), ${n(events.quiet.connections)} with the stream. ` +
        "Nomad's agent limits connections per client address (`limits.http_max_conns_per_client`, 100 by default): runners behind one NAT address reach it at about 50 blocking gates or 100 streaming ones, and must raise it or spread over agents. " +
        `Per change, the stream sends ${blocking.perChange && events.perChange ? `${bytes(events.perChange.bytesSent)} where blocking queries send ${bytes(blocking.perChange.bytesSent)} (and ${blocking.perChange.requests} new requests)` : 'one line where blocking queries send both answers again'}; at 200 groups the gap is the one of the cost table (the deployment event against a re-read of every allocation), multiplied by the gates watching that deployment. ` +
        (blocking.perChange && blocking.perChange.requests > 2
          ? `The ${blocking.perChange.requests} requests per change with blocking queries are not the gate asking twice: a change costs its own gate 2 (the deployment and its allocations), and the rest are other gates answered at once. Nomad answers the allocations of a deployment with the index of the whole allocations table (nomad/deployment_endpoint.go, \`Allocations\`: \`state.Index("allocs")\`), so a gate that asks again while other deployments' allocations change (here ${blocking.perChange.changes} changes a few milliseconds apart) is answered at once with the same allocations, once per change in between; the figure grows with how fast a cluster's allocations change, not with the gates. The stream has no such cost: it is filtered by deployment. `
          : '') +
        'On the server, a stream is a subscription to the event broker, which keeps one buffer of recent events for all of them (`event_buffer_size`, 100 indexes by default) and filters them per subscriber; ' +
        `on the runner, a gate waiting takes ${bytes(events.memory.rssPerGateBytes)} of memory with the stream and ${bytes(blocking.memory.rssPerGateBytes)} with blocking queries.`,
      '',
    )
  }
  return out
}
