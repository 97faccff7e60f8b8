/** Separately compressed pieces join into one gzip body that any gunzip reads back whole. */
import t from 'tap'
import { crc32, gunzipSync } from 'node:zlib'
import { createPieceWriter, crc32Combine, deflateText, gzipOf, pieceOfGzip } from '../../server/web/gzip-pieces.js'

/** deterministic text of a given length, with multibyte characters among ASCII */
function textOf(seed: number, length: number): string {
  const alphabet = ['a', 'b', '<', '>', ' ', '\n', '·', 'é', '–', '✓', '🚀', '"']
  let text = ''
  let state = seed
  while (text.length < length) {
    state = (state * 1103515245 + 12345) % 2 ** 31
    text += alphabet[state % alphabet.length]
  }
  return text
}

t.test('crc32Combine gives the CRC of the joined bytes, for many lengths', async (t) => {
  const lengths = [0, 1, 2, 3, 7, 8, 31, 32, 33, 255, 256, 1000, 4096, 65_537, 300_001]
  for (const [i, a] of lengths.entries()) {
    const b = lengths[(i * 7 + 3) % lengths.length]!
    const first = Buffer.from(textOf(i, a)).subarray(0, a)
    const second = Buffer.from(textOf(i + 100, b)).subarray(0, b)
    t.equal(crc32Combine(crc32(first), crc32(second), second.length), crc32(Buffer.concat([first, second])), `${a} + ${b} bytes`)
  }
})

t.test('pieces in any number and order gunzip to their texts joined', async (t) => {
  const texts = [0, 1, 5, 2_000, 70_000, 3, 250_000, 0, 40].map((length, i) => textOf(i, length))
  const pieces = await Promise.all(texts.map(deflateText))
  for (const order of [[0, 1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1, 0], [4], [7], [6, 2, 6, 2], [3, 0, 8, 1, 5]]) {
    const body = gzipOf(order.map((i) => pieces[i]!))
    t.equal(gunzipSync(body).toString('utf8'), order.map((i) => texts[i]).join(''), `pieces ${order.join(',')}`)
  }
})

t.test('a piece written a part at a time is the parts joined, and joins with other pieces', async (t) => {
  for (const parts of [0, 1, 3, 40]) {
    const texts = Array.from({ length: parts }, (_, i) => textOf(i, (i * 7919) % 90_000))
    const writer = createPieceWriter()
    for (const text of texts) await writer.write(text)
    const streamed = await writer.end()
    t.equal(streamed.size, Buffer.byteLength(texts.join('')), `${parts} parts: size in bytes`)
    const body = gzipOf([await deflateText('<head>'), streamed, await deflateText('</tail>')])
    t.equal(gunzipSync(body).toString('utf8'), `<head>${texts.join('')}</tail>`, `${parts} parts`)
  }
})

t.test('the piece inside a one-piece body joins other bodies again', async (t) => {
  const text = textOf(9, 10_000)
  const piece = await deflateText(text)
  const alone = gzipOf([piece])
  const inner = pieceOfGzip(alone, piece.crc, piece.size)
  t.same(inner.deflated, piece.deflated, 'the same bytes, without header and trailer')
  t.equal(gunzipSync(gzipOf([inner, inner])).toString('utf8'), text + text)
})
