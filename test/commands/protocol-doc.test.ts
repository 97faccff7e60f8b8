/**
 * The Commands section of PROTOCOL.md, checked against the code: the example command verifies
 * with the documented token, its derived key is the one printed, the openssl recipe prints the
 * same signature, and the example result reads as a result.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { checkCommand, readCommandResult, signCommand, type SignedCommand } from '@gravito/quasar/protocol'

const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8')
const section = doc.slice(doc.indexOf('## Commands'), doc.indexOf('## A minimal agent'))
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!)
const TOKEN = /signed with the token\s+`([^`]+)`/.exec(section)?.[1] ?? ''

t.test('the example command verifies with the documented token', async (t) => {
  t.equal(TOKEN, 'example-quasar-token-change-me')
  const raw = blocks('json')[0]!.trim()
  const command = JSON.parse(raw) as SignedCommand
  const check = checkCommand(raw, { token: TOKEN, service: 'billing', nodeId: 'worker-1', now: command.issuedAt })
  t.ok(check.ok, 'accepted by the agent')
  t.equal(signCommand({ ...command, signature: undefined } as never, TOKEN).signature, command.signature)
  t.notOk(checkCommand(raw, { token: `${TOKEN}x`, service: 'billing', nodeId: 'worker-1', now: command.issuedAt }).ok, 'another token does not verify it')
  const key = createHmac('sha256', TOKEN).update('quasar-commands-v1').digest('hex')
  t.match(section, `its \`key\` is\n\`${key}\``)
})

t.test('the openssl recipe prints the same signature', async (t) => {
  const script = blocks('bash')[0]!
  const command = JSON.parse(blocks('json')[0]!) as SignedCommand
  const output = execFileSync('bash', ['-c', script], { env: { ...process.env, QUASAR_TOKEN: TOKEN }, encoding: 'utf8' })
  t.equal(output.trim().split(' ')[0], command.signature)
})

t.test('the example result is a result', async (t) => {
  const result = readCommandResult(blocks('json')[1]!.trim())
  t.match(result, { status: 'failed', service: 'billing', nodeId: 'worker-1' })
})

t.test('the example progress of a queue-wide command is a result, and not final', async (t) => {
  const result = readCommandResult(blocks('json')[2]!.trim())
  t.match(result, { status: 'running', progress: { done: 100, total: 150, errors: 0 }, service: 'billing', nodeId: 'worker-1' })
})
