// The job summary (Markdown, for GitHub) and the same facts as plain text (CLI).

import { formatDuration } from '../duration.js'
import { describeAnswer, type Outcome } from '../gate/outcome.js'

const MAX_TIMELINE = 200

export function headline(o: Outcome): string {
  return `${o.ok ? 'passed' : 'failed'}: ${o.result} in ${formatDuration(o.elapsedMs)}. ${o.message}`
}

export function summaryMarkdown(o: Outcome): string {
  const d = o.deployment
  const lines: string[] = []
  lines.push(`### Nomad canary gate: \`${o.result}\` ${o.ok ? '✅' : '❌'}`, '')
  if (d) {
    lines.push(
      `Deployment \`${d.ID}\` of job \`${cell(d.JobID)}\` version ${d.JobVersion} (namespace \`${cell(d.Namespace)}\`): **${d.Status}**, ${cell(d.StatusDescription)}`,
      '',
    )
  }
  if (o.groups.length > 0) {
    lines.push('| Group | Desired canaries | Placed | Healthy | Unhealthy | Promoted |')
    lines.push('|---|---:|---:|---:|---:|---|')
    for (const g of o.groups) {
      lines.push(
        `| ${cell(g.name)} | ${g.desiredCanaries} | ${g.placedCanaries} | ${g.healthyCanaries} | ${g.unhealthyCanaries} | ${g.promoted ? 'yes' : 'no'} |`,
      )
    }
    lines.push('')
  }
  lines.push(
    `**${o.ok ? 'Passed' : 'Failed'}** in ${formatDuration(o.elapsedMs)}: ${cell(o.message)}`,
    '',
  )
  if (o.followed) {
    const how = o.followed === 'events' ? "Nomad's event stream" : 'blocking queries'
    lines.push(`Followed with ${how}.`, '')
  }
  if (o.write) lines.push(`Nomad's answer to the write: ${describeAnswer(o.write)}`, '')
  if (o.uiUrl) lines.push(`[The deployment in Nomad's UI](${o.uiUrl})`, '')
  if (o.checks.length > 0) {
    lines.push('| Check run | At | Result | Details |', '|---:|---:|---|---|')
    o.checks.slice(-MAX_TIMELINE).forEach((run, i) => {
      const details = run.results.map((c) => `${c.name}: ${c.ok ? 'ok' : c.detail}`).join('; ')
      lines.push(
        `| ${i + 1} | ${formatDuration(run.atMs)} | ${run.ok ? 'passed' : 'failed'} | ${cell(details)} |`,
      )
    })
    lines.push('')
  }
  if (o.timeline.length > 0) {
    lines.push('<details><summary>Timeline</summary>', '', '| At | Event |', '|---:|---|')
    for (const e of o.timeline.slice(-MAX_TIMELINE)) {
      lines.push(`| ${formatDuration(e.atMs)} | ${cell(e.text)} |`)
    }
    lines.push('', '</details>', '')
  }
  return lines.join('\n')
}

export function summaryText(o: Outcome): string {
  const rows = [['GROUP', 'DESIRED', 'PLACED', 'HEALTHY', 'UNHEALTHY', 'PROMOTED']]
  for (const g of o.groups) {
    rows.push([
      g.name,
      String(g.desiredCanaries),
      String(g.placedCanaries),
      String(g.healthyCanaries),
      String(g.unhealthyCanaries),
      g.promoted ? 'yes' : 'no',
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const table = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  )
  const link = o.uiUrl ? [`Nomad UI: ${o.uiUrl}`] : []
  return [...(o.groups.length ? table : []), headline(o), ...link].join('\n')
}

/** Table cells: no pipes or line breaks from Nomad's texts. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}
