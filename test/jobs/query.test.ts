/**
 * The search language: every qualifier, quoting, repeats, relative and absolute times, the bounds,
 * and a clear message for each bad input; then, with fast-check, any query rendered parses back
 * to itself.
 */
import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { parseJobQuery, parseTime, QUERY_LIMITS, renderJobQuery, SEARCH_STATES } from '../../server/jobs/query.js'
import type { JobQuery } from '../../server/archive/store.js'

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const HOUR = 3_600_000

function parsed(text: string): JobQuery {
  const result = parseJobQuery(text, NOW)
  if (!result.ok) throw new Error(`${text}: ${result.error}`)
  return result.query
}

function refused(text: string): string {
  const result = parseJobQuery(text, NOW)
  if (result.ok) throw new Error(`${text} was accepted: ${JSON.stringify(result.query)}`)
  return result.error
}

t.test('every qualifier lands in its field', async (t) => {
  t.same(parsed('service:billing queue:emails name:send-invoice state:failed id:42 version:1.2.3'), {
    services: ['billing'],
    queues: ['emails'],
    names: ['send-invoice'],
    states: ['failed'],
    ids: ['42'],
    versions: ['1.2.3'],
  })
  t.same(parsed('error:"SMTP timeout" data.user.id:7 data.plan:gold'), {
    error: 'SMTP timeout',
    data: [
      { path: ['user', 'id'], value: '7' },
      { path: ['plan'], value: 'gold' },
    ],
  })
  t.same(parsed('since:24h until:30m'), { since: NOW - 24 * HOUR, until: NOW - 30 * 60_000 })
  t.same(parsed('since:7d until:2w'), { since: NOW - 7 * 24 * HOUR, until: NOW - 14 * 24 * HOUR })
  t.same(parsed('since:2026-11-20 until:2026-11-21T08:30Z'), { since: Date.UTC(2026, 10, 20), until: Date.UTC(2026, 10, 21, 8, 30) })
  t.same(parsed('since:2026-11-21T08:30'), { since: Date.UTC(2026, 10, 21, 8, 30) }, 'a time without a zone is UTC')
  t.same(parsed('since:"2026-11-21 08:30:15.250"'), { since: Date.UTC(2026, 10, 21, 8, 30, 15, 250) })
  t.same(parsed('since:2026-11-21T08:30+02:00'), { since: Date.UTC(2026, 10, 21, 6, 30) })
})

t.test('repeats are "any of", words are kept, qualifiers ignore case, values do not', async (t) => {
  t.same(parsed('state:failed State:ACTIVE queue:a QUEUE:B queue:a timeout smtp'), { states: ['failed', 'active'], queues: ['a', 'B'], words: ['timeout', 'smtp'] })
  t.same(parsed('Data.User.Id:X'), { data: [{ path: ['User', 'Id'], value: 'X' }] }, 'a data path keeps its case')
  t.same(parsed('  queue:"send email"   "two words" 12:30 http://x.test/a  '), { queues: ['send email'], words: ['two words', '12:30', 'http://x.test/a'] })
  t.same(parsed('queue:"say \\"hi\\" \\\\ bye" id:a:b'), { queues: ['say "hi" \\ bye'], ids: ['a:b'] })
  t.same(parsed('"service:billing"'), { words: ['service:billing'] }, 'a quoted qualifier is a word')
  t.same(parsed(''), {})
  t.same(parsed('   '), {})
  for (const state of SEARCH_STATES) t.same(parsed(`state:${state}`), { states: [state] })
})

t.test('bad input is one plain message, never a throw', async (t) => {
  t.match(refused('colour:red'), /unknown qualifier colour: use service:, queue:, name:, state:, id:, version:, error:, since:, until:, data.<path>:/)
  t.match(refused('state:finished'), /state:finished is not a state; use one of waiting, active/)
  t.match(refused('service:"a b"'), /service:a b is not a service name/)
  t.match(refused('service:a:b'), /is not a service name/)
  t.match(refused('since:yesterday'), /since:yesterday is not a time/)
  t.match(refused('until:2026-13-45'), /until:2026-13-45 is not a time/)
  t.match(refused('since:5'), /is not a time/, 'a bare number is no duration here')
  t.match(refused('since:1d since:2d'), /since: may be given once/)
  t.match(refused('error:a error:b'), /error: may be given once/)
  t.match(refused('queue:'), /queue: needs a value/)
  t.match(refused('data.a:'), /data.a: needs a value/)
  t.match(refused('data..a:1'), /is not a data path/)
  t.match(refused(`data.${Array.from({ length: QUERY_LIMITS.dataPath + 1 }, () => 'a').join('.')}:1`), /is not a data path/)
  t.match(refused('queue:"open'), /the quote after queue: is not closed/)
  t.match(refused('"open'), /a quote is not closed/)
  t.match(refused('x'.repeat(QUERY_LIMITS.chars + 1)), /longer than 1024 characters/)
  t.match(refused(Array.from({ length: QUERY_LIMITS.terms + 1 }, (_, i) => `w${i}`).join(' ')), /more than 32 terms/)
  t.match(refused(`name:${'n'.repeat(QUERY_LIMITS.value + 1)}`), /name: is longer than 256/)
  t.ok(parseJobQuery(Array.from({ length: QUERY_LIMITS.terms }, (_, i) => `w${i}`).join(' '), NOW).ok, 'exactly the bound is accepted')
})

t.test('parseTime refuses what is not a time', async (t) => {
  for (const text of ['', 'now', '-1d', '1.5d', '1h30m', '2026-1-1', '2026-11-21T8:30', '2026-11-21T08:30+0200', '1e3ms', '999999d']) t.equal(parseTime(text, NOW), null, text)
})

// values any queue system allows, including quotes, backslashes, colons, spaces and unicode
const value = fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', ':', '.', '-', 'é', '日', '\t') })
const word = value.filter((text) => text.trim() === text && text.trim() !== '')
const serviceName = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/)
const pathPart = fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/)
const list = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.uniqueArray(arb, { minLength: 1, maxLength: 2 }), { nil: undefined })
const time = fc.option(fc.integer({ min: 0, max: Date.UTC(9999, 0, 1) }), { nil: undefined })

const queryArb = fc
  .record({
    services: list(serviceName),
    queues: list(value),
    names: list(value),
    states: list(fc.constantFrom(...SEARCH_STATES)),
    ids: list(value),
    versions: list(value),
    error: fc.option(value, { nil: undefined }),
    data: fc.option(fc.array(fc.record({ path: fc.array(pathPart, { minLength: 1, maxLength: 3 }), value }), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    since: time,
    until: time,
    words: list(word),
  })
  .map((query) => Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as JobQuery)

t.test('a rendered query parses back to itself', async (t) => {
  fc.assert(
    fc.property(queryArb, (query) => {
      const text = renderJobQuery(query)
      const back = parseJobQuery(text, NOW)
      if (!back.ok) throw new Error(`${text}: ${back.error}`)
      // plain copies: fast-check builds objects without a prototype
      return isDeepStrictEqual(JSON.parse(JSON.stringify(back.query)), JSON.parse(JSON.stringify(query)))
    }),
    { numRuns: 1000 },
  )
  t.pass('1000 queries round-trip')
})

t.test('any text parses or is refused with a message, never throws', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      const result = parseJobQuery(text, NOW)
      return result.ok ? typeof result.query === 'object' : typeof result.error === 'string' && result.error.length > 0
    }),
    { numRuns: 1000 },
  )
  t.pass()
})
