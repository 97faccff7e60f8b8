/**
 * The one duration parser, as the command line (bare numbers are milliseconds) and the alert rules
 * file (a bare number must be 0) read it, and its shortest exact form back.
 */
import t from 'tap'
import { formatDuration, parseDuration } from '../server/duration.js'

t.test('a number with a unit, in either reading', async (t) => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['3s', 3_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['0s', 0],
    ['0.0004s', 0],
    [' 5m ', 300_000],
    ['30 s', 30_000],
    ['0', 0],
  ]
  for (const [text, ms] of cases) {
    t.equal(parseDuration(text), ms, `command line: ${JSON.stringify(text)}`)
    t.equal(parseDuration(text, { bareMs: false }), ms, `rules file: ${JSON.stringify(text)}`)
  }
})

t.test('a bare number is milliseconds on the command line, refused in the rules file', async (t) => {
  for (const [text, ms] of [
    ['300000', 300_000],
    ['120', 120],
    ['1.6', 2],
  ] as const) {
    t.equal(parseDuration(text), ms, text)
    t.equal(parseDuration(text, { bareMs: false }), null, `${text}: a unit is expected`)
  }
})

t.test('anything else is no duration', async (t) => {
  for (const text of ['', ' ', 'soon', '2 minutes', '5days', '-1s', '1e3ms', '5mm', 'ms', '.5s', '5.s', '1h30m', '0x10', 'Infinity']) {
    t.equal(parseDuration(text), null, JSON.stringify(text))
    t.equal(parseDuration(text, { bareMs: false }), null, JSON.stringify(text))
  }
})

t.test('the shortest exact form, which parses back to the same milliseconds', async (t) => {
  const cases: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [1_500, '1500ms'],
    [3_000, '3s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [5_400_000, '90m'],
    [7_200_000, '2h'],
    [604_800_000, '168h'],
  ]
  for (const [ms, text] of cases) {
    t.equal(formatDuration(ms), text, String(ms))
    t.equal(parseDuration(formatDuration(ms)), ms, `${text} reads back`)
  }
})
