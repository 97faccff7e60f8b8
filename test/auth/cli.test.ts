import t from 'tap'
import { PassThrough, Readable } from 'node:stream'
import { checkExposure, hashPasswordCommand } from '../../server/auth/cli.js'
import { parseHash, verifyPassword } from '../../server/auth/passwords.js'
import { parseConfig } from '../../server/config.js'

function capture() {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
  return { stream, text: () => text }
}

async function run(stdinText: string | null, password?: string) {
  const stdout = capture()
  const stderr = capture()
  const stdin = Readable.from(stdinText === null ? [] : [Buffer.from(stdinText)])
  const code = await hashPasswordCommand({ password, stdin, stdout: stdout.stream, stderr: stderr.stream })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

t.test('hash-password prints a self-describing scrypt hash that verifies', async (t) => {
  const fromStdin = await run('s3cret pässword\n')
  t.equal(fromStdin.code, 0)
  t.match(fromStdin.stdout, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+\n$/)
  const parsed = parseHash(fromStdin.stdout.trim())!
  t.ok(parsed)
  t.equal(await verifyPassword('s3cret pässword', parsed), true)
  t.equal(await verifyPassword('s3cret password', parsed), false)
  t.equal(await verifyPassword('s3cret pässword\n', parsed), false, 'the newline is not part of the password')

  const fromArgument = await run(null, 'arg-pw')
  t.equal(fromArgument.code, 0)
  t.equal(await verifyPassword('arg-pw', parseHash(fromArgument.stdout.trim())!), true)

  const again = await run(null, 'arg-pw')
  t.not(again.stdout, fromArgument.stdout, 'a fresh salt every time')

  const crlf = await run('windows\r\nsecond line')
  t.equal(await verifyPassword('windows', parseHash(crlf.stdout.trim())!), true, 'only the first line, without \\r')
})

t.test('hash-password refuses an empty password with exit code 2', async (t) => {
  for (const input of ['', '\n']) {
    const result = await run(input)
    t.equal(result.code, 2)
    t.equal(result.stdout, '')
    t.match(result.stderr, /empty password/)
  }
  t.equal((await run(null, 'x'.repeat(1025))).code, 2)
})

t.test('parseHash rejects what it cannot verify safely', async (t) => {
  for (const bad of [
    '',
    'scrypt',
    'bcrypt$10$abc',
    'scrypt$16385$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'scrypt$16384$0$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'scrypt$16384$8$1$short$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  ]) {
    t.equal(parseHash(bad), null, bad)
  }
})

t.test('checkExposure: open on loopback warns, exposed open refuses unless insecure', async (t) => {
  const config = (input: Parameters<typeof parseConfig>[0]) => parseConfig(input)

  const local = checkExposure(config({}))
  t.equal(local.ok, true)
  t.match(local.ok && local.warning, /running without a password/)

  const exposed = checkExposure(config({ host: '0.0.0.0' }))
  t.equal(exposed.ok, false)
  t.match(!exposed.ok && exposed.error, /refusing to listen on 0\.0\.0\.0 without a password.*--insecure/)
  t.notMatch(!exposed.ok && exposed.error, /\n/)

  t.equal(checkExposure(config({ host: '::' })).ok, false)
  t.equal(checkExposure(config({ host: '192.168.1.10' })).ok, false)
  t.equal(checkExposure(config({ host: '0.0.0.0', apiToken: 'a'.repeat(20) })).ok, false, 'a token alone leaves pages open')

  const insecure = checkExposure(config({ host: '0.0.0.0', insecure: true }))
  t.equal(insecure.ok, true)
  t.match(insecure.ok && insecure.warning, /--insecure/)

  t.same(checkExposure(config({ host: '0.0.0.0', password: 'pw' })), { ok: true })
  t.same(checkExposure(config({ host: '0.0.0.0', usersFile: '/etc/zenith/users.yaml' })), { ok: true })
  t.equal(checkExposure(config({ password: 'pw', usersFile: '/x' })).ok, false, 'both at once is ambiguous')
})

t.test('config: session secret and token lengths are checked', async (t) => {
  t.throws(() => parseConfig({ sessionSecret: 'short' }), /32 characters/)
  t.throws(() => parseConfig({ apiToken: 'short' }), /16 characters/)
  t.equal(parseConfig({}).insecure, false)
})
