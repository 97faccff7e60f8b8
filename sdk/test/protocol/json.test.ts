/**
 * The size bound on agent JSON is in UTF-8 bytes, as the protocol states it, for the value limit
 * (64 KB) and the bounds built on it (a command's 8 KB): text of 3-byte characters that fits the
 * bound in UTF-16 units but not in bytes is refused unparsed.
 */
import t from 'tap'
import { checkCommand, MAX_VALUE_BYTES, parseAgentJson, signCommand, COMMAND_TTL_MS } from '../../src/protocol/index.js'

/** JSON of exactly `bytes` UTF-8 bytes: a string of `char`, padded with ASCII. */
function jsonOfBytes(bytes: number, char: string): string {
  const charBytes = Buffer.byteLength(char)
  const count = Math.floor((bytes - 2) / charBytes)
  const json = JSON.stringify(char.repeat(count) + 'x'.repeat(bytes - 2 - count * charBytes))
  if (Buffer.byteLength(json) !== bytes) throw new Error('test helper is off')
  return json
}

t.test('the value limit counts bytes: 3-byte text under it in UTF-16 units, over it in bytes, is refused', async (t) => {
  const euros = jsonOfBytes(MAX_VALUE_BYTES + 3, '€')
  t.ok(euros.length < MAX_VALUE_BYTES, `${euros.length} UTF-16 units, under ${MAX_VALUE_BYTES}`)
  t.same(parseAgentJson(euros), { ok: false, error: `value is ${MAX_VALUE_BYTES + 3} bytes, over ${MAX_VALUE_BYTES}` })
  t.equal(parseAgentJson(jsonOfBytes(MAX_VALUE_BYTES, '€')).ok, true, 'exactly at the limit in bytes it is read')
  t.equal(parseAgentJson(jsonOfBytes(MAX_VALUE_BYTES, '😀')).ok, true, 'so is 4-byte text at the limit')
  t.equal(parseAgentJson(jsonOfBytes(MAX_VALUE_BYTES + 1, '😀')).ok, false, 'and refused one byte over')
  t.equal(parseAgentJson(jsonOfBytes(MAX_VALUE_BYTES + 1, 'x')).ok, false, 'ASCII one byte over, too')
})

t.test("a command's 8 KB bound counts bytes too", async (t) => {
  const now = Date.now()
  const token = 'json-test-token-0123456789abcdef'
  // a job id of 256 characters is within the schema; the command is signed and addressed right
  const fields = { v: 1 as const, id: 'AAAAAAAAAAAAAAAA', type: 'RETRY_JOB', service: 'billing', nodeId: 'n1', queue: 'q', issuedAt: now, expiresAt: now + COMMAND_TTL_MS }
  const expect = { token, service: 'billing', nodeId: 'n1', now }
  const ascii = JSON.stringify(signCommand({ ...fields, jobId: 'x'.repeat(256) }, token))
  t.equal(checkCommand(ascii, expect).ok, true, 'a long ASCII job id fits')
  // pad the entry (an unknown field is ignored) with 3-byte text: under 8,192 units, over 8,192 bytes
  const padded = ascii.replace('{', `{"note":"${'€'.repeat(2_800)}",`)
  t.ok(padded.length < 8_192 && Buffer.byteLength(padded) > 8_192)
  t.match(checkCommand(padded, expect), { ok: false, reason: /bytes, over 8192/ })
})
