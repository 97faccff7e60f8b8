/** Cached fragments keep only their gzip once large, and still answer every client the same body. */
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { createFragmentCache, GZIP_FROM_BYTES, renderedFragment, storedFragment } from '../../server/web/fragment-cache.js'

// multibyte text: a body must come back byte for byte whichever way it is sent
const large = (seed: string) => `<p>${seed} · naïve … ✓ 🚀</p>\n`.repeat(5_000)

t.test('a large stored fragment keeps only its gzip and unzips it for clients without gzip', async (t) => {
  const html = large('a')
  const fragment = await storedFragment(html)
  t.equal(gunzipSync((await fragment.gzipped())!).toString('utf8'), html, 'the gzip is the text')
  const body = await fragment.body()
  t.ok(Buffer.isBuffer(body), 'the body is unzipped from the gzip: the text itself was let go')
  t.equal(body.toString('utf8'), html)
  t.equal(await fragment.body(), body, 'unzipped once, then shared')
  t.equal((await storedFragment(large('a'))).etag, fragment.etag, 'the same text, the same validator')
  t.not((await storedFragment(large('b'))).etag, fragment.etag, 'other text, another validator')
})

t.test('a small fragment is kept as text and never gzipped', async (t) => {
  const html = '<p>ok</p>'
  for (const fragment of [await storedFragment(html), renderedFragment(html)]) {
    t.equal(fragment.body(), html)
    t.equal(fragment.gzipped(), null)
  }
  t.equal(renderedFragment('x'.repeat(GZIP_FROM_BYTES)).gzipped() === null, false, 'from GZIP_FROM_BYTES on it is')
})

t.test('a fragment sent once keeps its text and gzips it on demand', async (t) => {
  const html = large('c')
  const fragment = renderedFragment(html)
  t.equal(fragment.body(), html)
  t.equal(gunzipSync((await fragment.gzipped())!).toString('utf8'), html)
})

t.test('the cache renders once per snapshot version and key, and forgets older versions', async (t) => {
  const cached = createFragmentCache()
  let renders = 0
  const render = (text: string) => async () => {
    renders++
    return large(text)
  }
  const first = await cached(1, 'all', render('v1'))
  t.equal(await cached(1, 'all', render('other')), first, 'same version and key: the same fragment')
  t.equal(renders, 1)
  await cached(1, 'filtered', render('f'))
  t.equal(renders, 2, 'another key renders on its own')
  const next = await cached(2, 'all', render('v2'))
  t.not(next.etag, first.etag)
  await cached(2, 'filtered', render('f'))
  t.equal(renders, 4, 'a new version renders every key again')
})
