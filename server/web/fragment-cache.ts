/**
 * Rendered fragments, cached per snapshot version. Rendering is the console's bottleneck (about
 * 880 renders/s for 1,000 rows), while the data changes only once per collector tick: every viewer
 * polling the same fragment between two ticks shares one render, and one gzip of it. Entries of
 * older versions are dropped as soon as a newer version is rendered, so memory stays at one
 * version's worth.
 *
 * A cached fragment keeps only its gzip once it is large: with 10,000 nodes the /pulse fragment
 * is 4.5 million characters (9 MB as a JavaScript string) and the nodes JSON 5 MB, against about
 * 300 KB each gzipped, and browsers always ask for gzip. A client that does not gets the body
 * unzipped once per render, on demand.
 */
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { constants, gunzip, gzip, inflateRaw } from 'node:zlib'
import { deflateText, gzipOf, pieceOfGzip, type DeflatedPiece } from './gzip-pieces.js'

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)
const inflateRawAsync = promisify(inflateRaw)
/** Small bodies are not worth a gzip member header and a decompression on the client. */
export const GZIP_FROM_BYTES = 2048
/**
 * Output buffer of the async gzip. Each time it fills, the work goes back through the event loop
 * and waits for its turn there: with the default 16 KB, the 11 MB JSON of 20,000 nodes (270 KB
 * gzipped) makes 17 such trips; with 1 MB, one.
 */
const GZIP_CHUNK_BYTES = 1024 * 1024

export interface RenderedFragment {
  /** strong validator for If-None-Match: unchanged markup answers 304 */
  readonly etag: string
  /** the body as is, for a client that does not accept gzip */
  body(): string | Promise<Buffer>
  /**
   * the body gzipped, shared by every client that accepts it; null when it is too small to be
   * worth it. Compressed off the event loop (libuv's pool): the JSON of 20,000 nodes is 11 MB,
   * whose gzip would otherwise hold every other request for a fifth of a second.
   */
  gzipped(): Promise<Buffer> | null
  /** the body as a gzip piece, for a page that embeds this fragment (see gzip-pieces.ts) */
  piece(): Promise<DeflatedPiece>
}

/** A fragment sent once (not cached): keeps its text, gzipped on first demand. */
export function renderedFragment(html: string): RenderedFragment {
  let gzipped: Promise<Buffer> | null = null
  let piece: Promise<DeflatedPiece> | null = null
  return {
    etag: `"${createHash('sha1').update(html).digest('base64url')}"`,
    body: () => html,
    gzipped: () =>
      html.length < GZIP_FROM_BYTES
        ? null
        : (gzipped ??= retryable(
            () => compress(html),
            () => (gzipped = null),
          )),
    piece: () =>
      (piece ??= retryable(
        () => deflateText(html),
        () => (piece = null),
      )),
  }
}

/**
 * A fragment to keep in a cache: a large one is gzipped now and its text let go. Its validator is
 * the hash of that gzip, which is the same for the same text (deflate is deterministic), and hashing
 * 300 KB instead of 9 MB also spares a 9 MB UTF-8 copy per render. A render may hand over its
 * body already compressed (written a part at a time): no string of the whole body then exists.
 */
export async function storedFragment(rendered: string | DeflatedPiece): Promise<RenderedFragment> {
  if (typeof rendered === 'string') return rendered.length < GZIP_FROM_BYTES ? renderedFragment(rendered) : storedPiece(await deflateText(rendered))
  // small bodies are not gzipped (the rule above), so a small compressed one goes back to text
  if (rendered.size < GZIP_FROM_BYTES) return renderedFragment(await inflatePiece(rendered))
  return storedPiece(rendered)
}

function storedPiece(rendered: DeflatedPiece): RenderedFragment {
  const gzip = gzipOf([rendered])
  const gzipped = Promise.resolve(gzip)
  // the piece is a view into the gzip: one buffer kept, not two
  const piece = Promise.resolve(pieceOfGzip(gzip, rendered.crc, rendered.size))
  let plain: Promise<Buffer> | null = null
  return {
    etag: `"${createHash('sha1').update(gzip).digest('base64url')}"`,
    body: () =>
      (plain ??= retryable(
        async () => gunzipAsync(gzip),
        () => (plain = null),
      )),
    gzipped: () => gzipped,
    piece: () => piece,
  }
}

async function inflatePiece(piece: DeflatedPiece): Promise<string> {
  return (await inflateRawAsync(piece.deflated, { finishFlush: constants.Z_SYNC_FLUSH })).toString('utf8')
}

/** gzip off the event loop, with an output buffer large enough for one trip through the loop */
export function compress(text: string): Promise<Buffer> {
  return gzipAsync(text, { level: 6, chunkSize: GZIP_CHUNK_BYTES })
}

/** a failed attempt is forgotten, so the next request tries again instead of failing forever */
function retryable<T>(attempt: () => Promise<T>, forget: () => void): Promise<T> {
  return attempt().catch((error: unknown) => {
    forget()
    throw error
  })
}

export function createFragmentCache(maxEntries = 256) {
  let version = -1
  const entries = new Map<string, Promise<RenderedFragment>>()

  return function cached(snapshotVersion: number, key: string, render: () => Promise<string | DeflatedPiece>): Promise<RenderedFragment> {
    if (snapshotVersion !== version) {
      entries.clear()
      version = snapshotVersion
    }
    let entry = entries.get(key)
    if (!entry) {
      entry = render().then(storedFragment)
      // a failed render must not be served from the cache forever
      entry.catch(() => entries.delete(key))
      if (entries.size >= maxEntries) entries.clear()
      entries.set(key, entry)
    }
    return entry
  }
}
