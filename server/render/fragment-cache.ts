/**
 * Rendered fragments, cached per snapshot version. Rendering is the console's bottleneck (about
 * 880 renders/s for 1,000 rows), while the data changes only once per collector tick: every viewer
 * polling the same fragment between two ticks shares one render, and one gzip of it. Entries of
 * older versions are dropped as soon as a newer version is rendered, so memory stays at one
 * version's worth.
 */
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'

const gzipAsync = promisify(gzip)
/**
 * Output buffer of the async gzip. Each time it fills, the work goes back through the event loop
 * and waits for its turn there: with the default 16 KB, the 11 MB JSON of 20,000 nodes (270 KB
 * gzipped) makes 17 such trips; with 1 MB, one.
 */
const GZIP_CHUNK_BYTES = 1024 * 1024

export interface RenderedFragment {
  html: string
  /** strong validator for If-None-Match: unchanged markup answers 304 */
  etag: string
  /**
   * gzip of html, made on first demand and shared by every client that accepts it. Compressed off
   * the event loop (libuv's pool): the JSON of 20,000 nodes is 11 MB, whose gzip would otherwise
   * hold every other request for a fifth of a second.
   */
  gzipped(): Promise<Buffer>
}

export function renderedFragment(html: string): RenderedFragment {
  let gzipped: Promise<Buffer> | null = null
  return {
    html,
    etag: `"${createHash('sha1').update(html).digest('base64url')}"`,
    gzipped: () =>
      (gzipped ??= gzipAsync(html, { level: 6, chunkSize: GZIP_CHUNK_BYTES }).catch((error: unknown) => {
        gzipped = null
        throw error
      })),
  }
}

export function createFragmentCache(maxEntries = 256) {
  let version = -1
  const entries = new Map<string, Promise<RenderedFragment>>()

  return function cached(snapshotVersion: number, key: string, render: () => Promise<string>): Promise<RenderedFragment> {
    if (snapshotVersion !== version) {
      entries.clear()
      version = snapshotVersion
    }
    let entry = entries.get(key)
    if (!entry) {
      entry = render().then(renderedFragment)
      // a failed render must not be served from the cache forever
      entry.catch(() => entries.delete(key))
      if (entries.size >= maxEntries) entries.clear()
      entries.set(key, entry)
    }
    return entry
  }
}

export type FragmentCache = ReturnType<typeof createFragmentCache>
