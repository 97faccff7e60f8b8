/** The rules file shown in the README is a valid one, so the docs cannot drift from the schema. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseAlertRules } from '../../server/alerts/rules.js'
import { webhookPayload } from '../../server/alerts/channels/webhook.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const example = /```yaml\n(# zenith start --alerts[\s\S]*?)```/.exec(readme)?.[1]

t.test('the README rules example loads', async (t) => {
  t.ok(example, 'the README has the rules example')
  const rules = parseAlertRules(example!, 'alerts.yaml')
  t.same(
    rules.channels.map((c) => [c.name, c.type]),
    [
      ['ops', 'slack'],
      ['pager', 'webhook'],
    ],
  )
  t.same(
    rules.rules.map((r) => r.metric),
    ['cpu', 'disk', 'node_lost', 'queue_backlog', 'queue_failed', 'queue_wait'],
  )
  t.match(rules.rules[1], { op: 'below', threshold: 10, forMs: 60_000, cooldownMs: 3_600_000 })
  t.match(rules.rules[4], { windowMs: 600_000, threshold: 20 })
  t.match(rules.rules[5], { threshold: 120_000, clear: 114_000, forMs: 60_000, queue: 'emails' })
})

t.test("the README's webhook bodies have the fields the console sends", async (t) => {
  const alerts = readme.slice(readme.indexOf('## Alerts'), readme.indexOf('\n## ', readme.indexOf('## Alerts') + 1))
  const [single, grouped] = [...alerts.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!))
  t.ok(single && grouped, 'both examples are there and parse')
  const base = { id: 'x', rule: 'r', metric: 'cpu' as const, op: 'above' as const, threshold: 90, at: 1, kind: 'firing' as const }
  const target = { target: 'a/b', service: 'a', nodeId: 'b', value: 1, firedAt: 1 }
  const keys = (o: object) => Object.keys(o).sort()
  t.same(keys(single), keys(webhookPayload({ ...base, ...target })))
  t.same(keys(grouped), keys(webhookPayload({ ...base, count: 2, targets: [target] })))
  t.same(keys(grouped.targets[0]), keys(target))
})
