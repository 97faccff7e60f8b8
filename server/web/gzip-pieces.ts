/**
 * Gzip bodies made of separately compressed pieces. Each piece is raw deflate ending on a sync
 * flush (byte-aligned, no final block, no reference to other pieces), so pieces join into one
 * deflate stream in any order; a gzip header, an empty final block and a trailer whose CRC-32 is
 * combined from the pieces' own make it a gzip body like any other.
 *
 * What this buys: the /pulse page is its shell around the nodes fragment, which is compressed
 * once per snapshot and cached. With 10,000 nodes that fragment is 4.5 million characters; the
 * page reuses its compressed piece instead of rendering, joining and compressing it again, and the
 * fragment itself is written to the compressor a service group at a time, so no string of the
 * whole body ever exists (each such string and its UTF-8 copy cost megabytes of short-lived heap
 * and malloc per render).
 */
import { constants, crc32 as zlibCrc32, createDeflateRaw, deflateRaw } from 'node:zlib'
import { promisify } from 'node:util'

const deflateRawAsync = promisify(deflateRaw)
const PIECE_OPTIONS = { level: 6, finishFlush: constants.Z_SYNC_FLUSH }
/** gzip header: deflate, no flags, no mtime, OS unix (what zlib itself writes, minus the mtime) */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03])
/** a fixed-Huffman block with BFINAL set and nothing but end-of-block */
const FINAL_BLOCK = Buffer.from([0x03, 0x00])
/**
 * Output buffer of a streamed piece. Its chunks are slices of this buffer and keep all of it
 * alive until they are joined: small keeps the garbage small.
 */
const STREAM_CHUNK_BYTES = 64 * 1024

export interface DeflatedPiece {
  /** raw deflate, ending on a sync flush */
  readonly deflated: Buffer
  /** CRC-32 of the uncompressed bytes */
  readonly crc: number
  /** uncompressed length in bytes */
  readonly size: number
}

export async function deflateText(text: string): Promise<DeflatedPiece> {
  const bytes = Buffer.from(text, 'utf8')
  return { deflated: await deflateRawAsync(bytes, PIECE_OPTIONS), crc: crc32(bytes), size: bytes.length }
}

/** One gzip body of the pieces, in order. */
export function gzipOf(pieces: readonly DeflatedPiece[]): Buffer {
  let crc = 0
  let size = 0
  for (const piece of pieces) {
    crc = crc32Combine(crc, piece.crc, piece.size)
    size += piece.size
  }
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc >>> 0, 0)
  trailer.writeUInt32LE(size % 2 ** 32, 4)
  return Buffer.concat([GZIP_HEADER, ...pieces.map((piece) => piece.deflated), FINAL_BLOCK, trailer])
}

/** The piece inside a body built by gzipOf from one piece: a view of it, not a copy. */
export function pieceOfGzip(gzip: Buffer, crc: number, size: number): DeflatedPiece {
  return { deflated: gzip.subarray(GZIP_HEADER.length, gzip.length - FINAL_BLOCK.length - 8), crc, size }
}

export interface PieceWriter {
  /** waits while the compressor is behind, so written text does not pile up in memory */
  write(text: string): Promise<void>
  end(): Promise<DeflatedPiece>
}

/** A piece written a part at a time; compression runs off the event loop (libuv's pool). */
export function createPieceWriter(): PieceWriter {
  const stream = createDeflateRaw({ ...PIECE_OPTIONS, chunkSize: STREAM_CHUNK_BYTES })
  const chunks: Buffer[] = []
  let crc = 0
  let size = 0
  let failure: Error | null = null
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  stream.on('error', (error) => (failure = error))
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  ended.catch(() => {})
  return {
    async write(text) {
      if (failure) throw failure
      if (text.length === 0) return
      const bytes = Buffer.from(text, 'utf8')
      crc = crc32(bytes, crc)
      size += bytes.length
      if (!stream.write(bytes)) await new Promise<void>((resolve) => stream.once('drain', resolve))
    },
    async end() {
      stream.end()
      await ended
      return { deflated: Buffer.concat(chunks), crc, size }
    },
  }
}

/** zlib's own CRC-32 (Node 20.15 on), else the same sum computed here. */
function crc32(bytes: Uint8Array, initial = 0): number {
  return typeof zlibCrc32 === 'function' ? zlibCrc32(bytes, initial) : crc32Table(bytes, initial)
}

const POLY = 0xedb88320
let table: Uint32Array | null = null

function crc32Table(bytes: Uint8Array, initial: number): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    return c >>> 0
  })
  let crc = ~initial >>> 0
  for (const byte of bytes) crc = (crc >>> 8) ^ table[(crc ^ byte) & 0xff]!
  return ~crc >>> 0
}

/** a·b modulo the CRC polynomial, both as reflected 32-bit polynomials (zlib's multmodp) */
function multModP(a: number, b: number): number {
  let m = 0x80000000
  let p = 0
  for (;;) {
    if (a & m) {
      p ^= b
      if ((a & (m - 1)) === 0) break
    }
    m >>>= 1
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1
  }
  return p >>> 0
}

/** x^(2^k) modulo the polynomial, for k = 0..31 */
const X2N: number[] = []
for (let k = 0, p = 1 << 30; k < 32; k++) {
  X2N.push(p >>> 0)
  p = multModP(p, p)
}

/** x^(n·2^k) modulo the polynomial (zlib's x2nmodp) */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p)
    n = Math.floor(n / 2)
    k++
  }
  return p
}

/** The CRC-32 of A followed by B, from the CRC of each and the length of B (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0
}
