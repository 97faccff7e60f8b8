/** The rules file shown in the README is a valid one, so the docs cannot drift from the schema. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseAlertRules } from '../../server/alerts/rules.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const example = /```yaml\n(# zenith start --alerts[\s\S]*?)```/.exec(readme)?.[1]

t.test('the README rules example loads', async (t) => {
  t.ok(example, 'the README has the rules example')
  const rules = parseAlertRules(example!, 'alerts.yaml')
  t.same(rules.channels.map((c) => [c.name, c.type]), [['ops', 'slack'], ['pager', 'webhook']])
  t.same(rules.rules.map((r) => r.metric), ['cpu', 'disk', 'node_lost', 'queue_backlog', 'queue_failed'])
  t.match(rules.rules[1], { op: 'below', threshold: 10, forMs: 60_000, cooldownMs: 3_600_000 })
  t.match(rules.rules[4], { windowMs: 600_000, threshold: 20 })
})
