/**
 * `--quasar-token` / QUASAR_TOKEN: the secret commands are signed with. A bad one is named in one
 * line and never repeated; --help lists both spellings.
 */
import t from 'tap'
import { cleanEnv, runCli } from '../cli/run-cli.js'

t.test('a token that is too short stops the start, without repeating it', async (t) => {
  const fromFlag = await runCli(['start', '--quasar-token', 'short-token'])
  t.equal(fromFlag.code, 2)
  t.match(fromFlag.stderr, /^error: invalid --quasar-token: .*16/)
  t.notMatch(fromFlag.stderr, /short-token/)
  t.equal(fromFlag.stdout, '')

  const fromEnv = await runCli(['start'], cleanEnv({ QUASAR_TOKEN: 'tiny-secret' }))
  t.equal(fromEnv.code, 2)
  t.match(fromEnv.stderr, /^error: invalid QUASAR_TOKEN: .*16/)
  t.notMatch(fromEnv.stderr, /tiny-secret/)
})

t.test('--help names the flag and its environment variable', async (t) => {
  const help = await runCli(['start', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /--quasar-token <token>/)
  t.match(help.stdout, /QUASAR_TOKEN/)
})
