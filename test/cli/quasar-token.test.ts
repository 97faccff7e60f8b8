/**
 * The console refuses a QUASAR_TOKEN shorter than 16 characters at start, from the flag or the
 * environment: one line naming the setting and the minimum, never the token, exit code 2.
 */
import t from 'tap'
import { cleanEnv, runCli } from './run-cli.js'

for (const [where, args, env] of [
  ['--quasar-token', ['start', '--quasar-token', 'short-token-15c'], {}],
  ['QUASAR_TOKEN', ['start'], { QUASAR_TOKEN: 'short-token-15c' }],
] as const) {
  t.test(`a 15-character token from ${where}: refused, exit code 2`, async (t) => {
    const result = await runCli([...args], cleanEnv(env))
    t.equal(result.code, 2)
    t.match(result.stderr, new RegExp(`^error: invalid ${where}: must be at least 16 characters`))
    t.notMatch(result.stderr, /short-token-15c/)
    t.equal(result.stdout, '', 'nothing started')
  })
}
