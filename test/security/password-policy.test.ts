/**
 * A weak shared password stops the start: the CLI with one line and exit code 2, the app at boot.
 * `--insecure` lets it through with a warning. The line never repeats the password.
 */
import t from 'tap'
import { checkPasswordPolicy, passwordWeakness, WEAK_PASSWORDS } from '../../server/security/password-policy.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { cleanEnv, runCli } from '../cli/run-cli.js'

const WEAK: Array<[string, RegExp]> = [
  ['change-me', /well-known/],
  ['CHANGE-ME', /well-known/],
  ['Change-Me', /well-known/],
  [' change-me ', /well-known/],
  ['password', /well-known/],
  ['PassWord1234', /well-known/],
  ['administrator', /well-known/],
  ['Zenith', /well-known/],
  ['zenith-password', /well-known/],
  ['compose-demo-token-change-me', /well-known/],
  ['123456789012', /well-known/],
  ['a', /shorter than 12/],
  ['elevenchars', /shorter than 12/],
  ['🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑', /shorter than 12/],
  ['           ', /shorter than 12/],
]
const FIXED_ERRORS = ['is on the list of well-known passwords', 'is shorter than 12 characters'].map((why) => `refusing a weak ZENITH_PASSWORD: it ${why}; generate one (openssl rand -base64 24), or pass --insecure`)
const STRONG = ['twelve chars', 'kT9#mW2$pL5@', 'a long shared password', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑', 'change-me-but-longer', 'x'.repeat(1024)]

t.test('what is weak, and why', async (t) => {
  for (const [password, why] of WEAK) t.match(passwordWeakness(password), why, JSON.stringify(password))
  for (const password of STRONG) t.equal(passwordWeakness(password), null, JSON.stringify(password))
  for (const password of WEAK_PASSWORDS) t.not(passwordWeakness(password.toUpperCase()), null, `listed: ${password}`)
})

t.test('refused unless --insecure, which only warns; no password or a strong one passes', async (t) => {
  for (const [password] of WEAK) {
    const refused = checkPasswordPolicy({ password, insecure: false })
    t.equal(refused.ok, false, JSON.stringify(password))
    // one of two fixed sentences: nothing of the password can be in it
    if (!refused.ok) t.ok(FIXED_ERRORS.includes(refused.error), refused.error)
    const insecure = checkPasswordPolicy({ password, insecure: true })
    t.equal(insecure.ok, true)
    t.match(insecure, { warning: /--insecure/ })
  }
  t.same(checkPasswordPolicy({ password: undefined, insecure: false }), { ok: true })
  for (const password of STRONG) t.same(checkPasswordPolicy({ password, insecure: false }), { ok: true })
})

t.test('the app refuses to boot with a weak password, boots with --insecure and says so', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  await t.rejects(buildTestApp({ redisUrl: redisServer.url, password: 'change-me' }), /refusing a weak ZENITH_PASSWORD: it is on the list/)
  await t.rejects(buildTestApp({ redisUrl: redisServer.url, password: 'short' }), /shorter than 12 characters/)

  const logLines: string[] = []
  const insecure = await buildTestApp({ redisUrl: redisServer.url, password: 'change-me', insecure: true, logLines })
  t.teardown(() => insecure.close())
  const warning = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; event?: string }).find((line) => line.event === 'weak_password')
  t.match(warning, { level: 40, msg: /well-known passwords; accepted because of --insecure/ })
  t.equal((await insecure.inject({ url: '/pulse' })).statusCode, 303, 'still asks for a login')

  const strong = await buildTestApp({ redisUrl: redisServer.url, password: 'a long shared password' })
  t.teardown(() => strong.close())
  t.equal((await strong.inject({ url: '/livez' })).statusCode, 200)
})

t.test('zenith start: one line, exit code 2, on loopback too, from the flag or the environment', async (t) => {
  // refused before anything connects: the Redis URL need not answer
  const url = 'redis://127.0.0.1:1'
  const cases: Array<{ args: string[]; env: Record<string, string>; says: RegExp }> = [
    { args: ['start', '--url', url], env: { ZENITH_PASSWORD: 'change-me' }, says: /well-known passwords/ },
    { args: ['start', '--url', url, '--host', '127.0.0.1'], env: { ZENITH_PASSWORD: 'Admin' }, says: /well-known passwords/ },
    { args: ['start', '--url', url, '--password', 'hunter2-xyz'], env: {}, says: /shorter than 12 characters/ },
    { args: ['start', '--url', url, '--host', '0.0.0.0'], env: { ZENITH_PASSWORD: 'zenith' }, says: /well-known passwords/ },
  ]
  const results = await Promise.all(cases.map(({ args, env }) => runCli(args, cleanEnv(env))))
  cases.forEach(({ says, env, args }, i) => {
    const result = results[i]!
    t.equal(result.code, 2, `${args.join(' ')} exits 2`)
    const lines = result.stderr.split('\n').filter((line) => line !== '')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], /^error: refusing a weak ZENITH_PASSWORD/)
    t.match(lines[0], says)
    t.notMatch(result.stderr, env.ZENITH_PASSWORD ?? 'hunter2-xyz', 'the password is not repeated')
  })
})
