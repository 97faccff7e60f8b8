import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultAlertRules, loadAlertRules, parseAlertRules } from '../../server/alerts/rules.js'
import { maskUrl } from '../../server/alerts/channels/url.js'

const dir = mkdtempSync(join(tmpdir(), 'zenith-alert-rules-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

t.test('the defaults: the seed rules plus node lost, backlog and failed spike, with no channel', async (t) => {
  const { rules, channels, file } = defaultAlertRules()
  t.equal(file, null)
  t.same(channels, [])
  const byName = Object.fromEntries(rules.map((r) => [r.name, r]))
  t.match(byName['cpu-high'], { metric: 'cpu', op: 'above', threshold: 90, clear: 85, forMs: 120_000, cooldownMs: 1_800_000, channels: [] })
  t.match(byName['memory-high'], { metric: 'memory', op: 'above', threshold: 90, forMs: 300_000 })
  t.match(byName['disk-low'], { metric: 'disk', op: 'below', threshold: 10, clear: 15, forMs: 60_000 })
  t.match(byName['node-lost'], { metric: 'node_lost', forMs: 0 })
  t.match(byName['queue-backlog'], { metric: 'queue_backlog', op: 'above', threshold: 1000, clear: 950, forMs: 300_000 })
  t.match(byName['failed-spike'], { metric: 'queue_failed', op: 'above', threshold: 10, windowMs: 300_000 })
})

t.test('a YAML file with channels and rules', async (t) => {
  const path = file(
    'rules.yaml',
    `channels:
  - { name: ops-slack, type: slack, url: "https://hooks.slack.com/services/T000/B000/SECRET" }
  - name: local
    type: webhook
    url: http://127.0.0.1:8080/alerts
rules:
  - name: api-cpu
    metric: cpu
    above: 80
    for: 3s
    cooldown: 1h
    clear: 60
    service: api
    channels: [ops-slack, local]
  - { name: big-backlog, metric: queue_backlog, above: 50, for: 500ms, queue: emails, channels: [local] }
`,
  )
  const loaded = await loadAlertRules(path)
  t.equal(loaded.file, path)
  t.same(
    loaded.channels.map((c) => c.name),
    ['ops-slack', 'local'],
  )
  t.match(loaded.rules[0], { name: 'api-cpu', threshold: 80, clear: 60, forMs: 3000, cooldownMs: 3_600_000, service: 'api', channels: ['ops-slack', 'local'] })
  t.match(loaded.rules[1], { name: 'big-backlog', forMs: 500, queue: 'emails', clear: 47.5 })
})

t.test('a JSON file without rules gets the default rules, sent to every channel of the file', async (t) => {
  const path = file('channels-only.json', JSON.stringify({ channels: [{ name: 'hook', type: 'webhook', url: 'https://example.com/h' }] }))
  const loaded = await loadAlertRules(path)
  t.equal(loaded.rules.length, defaultAlertRules().rules.length)
  t.ok(loaded.rules.every((r) => r.channels.join() === 'hook'))
})

const bad: [string, string, string, RegExp][] = [
  ['not YAML', 'bad.yaml', 'rules: [1,\n b: c: d', /^alerts file .*bad\.yaml is not valid YAML: /],
  ['not JSON', 'bad.json', '{"rules": [', /^alerts file .*bad\.json is not valid JSON: /],
  ['a list instead of an object', 'list.yaml', '- a\n- b', /must be an object with channels and rules/],
  ['an empty file', 'empty.yaml', '', /must be an object with channels and rules/],
  ['an unknown top-level key', 'key.yaml', 'rule: []', /top level: Unrecognized key: "rule"/],
  ['a typo in a rule field', 'typo.yaml', 'rules: [{ name: a, metric: cpu, abve: 90 }]', /rules\[0\] \(a\)(: |\.).*abve/],
  ['an unknown metric', 'metric.yaml', 'rules: [{ name: a, metric: load, above: 1 }]', /rules\[0\] \(a\)\.metric: /],
  ['both above and below', 'both.yaml', 'rules: [{ name: a, metric: cpu, above: 90, below: 10 }]', /rules\[0\] \(a\)\.below: give exactly one of above or below/],
  ['neither above nor below', 'neither.yaml', 'rules: [{ name: a, metric: memory, for: 2m }]', /rules\[0\] \(a\)\.above: give exactly one of above or below/],
  ['a threshold on node_lost', 'lost.yaml', 'rules: [{ name: a, metric: node_lost, above: 1 }]', /rules\[0\] \(a\)\.above: node_lost takes no threshold/],
  ['a percentage over 100', 'pct.yaml', 'rules: [{ name: a, metric: cpu, above: 150 }]', /rules\[0\] \(a\)\.above: cpu is a percentage/],
  ['a bad duration', 'dur.yaml', 'rules: [{ name: a, metric: cpu, above: 90, for: 2 minutes }]', /rules\[0\] \(a\)\.for: "2 minutes" is not a duration/],
  ['a bare number as a duration string', 'bare.yaml', 'rules: [{ name: a, metric: cpu, above: 90, for: "120" }]', /rules\[0\] \(a\)\.for: "120" is not a duration/],
  ['a clear line on the wrong side', 'clear.yaml', 'rules: [{ name: a, metric: cpu, above: 90, clear: 95 }]', /rules\[0\] \(a\)\.clear: must be at or below the trigger \(90\)/],
  ['a queue filter on a node metric', 'qf.yaml', 'rules: [{ name: a, metric: cpu, above: 90, queue: emails }]', /rules\[0\] \(a\)\.queue: only queue metrics/],
  ['below on queue_failed', 'qb.yaml', 'rules: [{ name: a, metric: queue_failed, below: 3 }]', /rules\[0\] \(a\)\.below: queue_failed measures a rise/],
  ['a rule name with a colon', 'name.yaml', 'rules: [{ name: "a:b", metric: cpu, above: 90 }]', /rules\[0\] \(a:b\)\.name: must match/],
  ['two rules with one name', 'dup.yaml', 'rules: [{ name: a, metric: cpu, above: 90 }, { name: a, metric: memory, above: 90 }]', /rules\[1\] \(a\)\.name: "a" is used twice/],
  ['a channel that does not exist', 'chan.yaml', 'rules: [{ name: a, metric: cpu, above: 90, channels: [nowhere] }]', /rules\[0\] \(a\)\.channels\[0\]: no channel named "nowhere"/],
  ['an unknown channel type', 'ctype.yaml', 'channels: [{ name: c, type: email, url: "https://example.com" }]', /channels\[0\] \(c\)\.type: /],
  [
    'http to a public host',
    'http.yaml',
    'channels: [{ name: c, type: webhook, url: "http://example.com/hook" }]',
    /channels\[0\] \(c\)\.url: must use https \(http is allowed only to 127\.0\.0\.0\/8, ::1 or localhost\)/,
  ],
  ['http to a private, non-loopback address', 'lan.yaml', 'channels: [{ name: c, type: webhook, url: "http://10.0.0.5/hook" }]', /channels\[0\] \(c\)\.url: must use https/],
  ['another scheme', 'ftp.yaml', 'channels: [{ name: c, type: slack, url: "ftp://example.com/x" }]', /channels\[0\] \(c\)\.url: must use https$/],
  ['not a URL', 'nourl.yaml', 'channels: [{ name: c, type: slack, url: "hooks.slack.com/x" }]', /channels\[0\] \(c\)\.url: is not a valid URL/],
]

for (const [what, name, text, expected] of bad) {
  t.test(`a bad file is refused with one clear line: ${what}`, async (t) => {
    const path = file(name, text)
    const error = await loadAlertRules(path).then(
      () => null,
      (e: unknown) => e as Error,
    )
    t.ok(error, 'refused')
    t.match(error!.message, expected)
    t.notMatch(error!.message, /\n/, 'one line')
    t.match(error!.message, path, 'names the file')
  })
}

t.test('a missing file is refused with its path', async (t) => {
  await t.rejects(loadAlertRules(join(dir, 'nope.yaml')), /^cannot read alerts file .*nope\.yaml: ENOENT/)
})

t.test('channel URLs: https anywhere, http only to loopback', async (t) => {
  const ok = ['https://hooks.slack.com/services/x', 'http://127.0.0.1:9000/a', 'http://127.8.9.10/a', 'http://localhost:3000/', 'http://[::1]:8080/']
  for (const url of ok) {
    t.doesNotThrow(() => parseAlertRules(JSON.stringify({ channels: [{ name: 'c', type: 'webhook', url }] }), 'x.json'), url)
  }
  const refused = ['http://128.0.0.1/', 'http://localhost.example.com/', 'http://[::2]/', 'http://127.0.0.1.nip.io/']
  for (const url of refused) {
    t.throws(() => parseAlertRules(JSON.stringify({ channels: [{ name: 'c', type: 'webhook', url }] }), 'x.json'), /must use https/, url)
  }
})

t.test('a masked URL keeps the scheme and host only', async (t) => {
  t.equal(maskUrl('https://hooks.slack.com/services/T000/B000/SECRET'), 'https://hooks.slack.com/…')
  t.equal(maskUrl('http://user:pw@127.0.0.1:9000/path?token=x'), 'http://127.0.0.1:9000/…')
  t.equal(maskUrl('not a url'), '…')
})
