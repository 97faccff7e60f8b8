import type { FastifyReply, FastifyRequest } from 'fastify'
import { compress, GZIP_FROM_BYTES, type RenderedFragment } from './fragment-cache.js'

/**
 * Answers a polled fragment (or a cached JSON answer): 304 when the client already has this body,
 * else the cached text, gzipped once per render for clients that accept it.
 */
export async function sendFragment(request: FastifyRequest, reply: FastifyReply, fragment: RenderedFragment, contentType = 'text/html; charset=utf-8') {
  // no Cache-Control here: every answer is no-store (http/cache-control.ts), so a browser does not
  // keep a fragment to revalidate; a client that sends If-None-Match itself still gets its 304
  reply.header('etag', fragment.etag).header('vary', 'accept-encoding').type(contentType)
  if (request.headers['if-none-match'] === fragment.etag) return reply.code(304).send()
  const gzipped = acceptsGzip(request) ? fragment.gzipped() : null
  if (gzipped) return reply.header('content-encoding', 'gzip').send(await gzipped)
  return reply.send(await fragment.body())
}

/**
 * Answers a page rendered for this request alone, gzipped for a client that accepts it. The /pulse
 * page of 10,000 nodes is 4.5 million characters: sent as text, Node joins it to the headers into
 * one more string of that size and copies it to UTF-8 for the socket, about 25 MB of garbage per
 * page view; gzipped, one UTF-8 copy goes to zlib and 300 KB to the socket.
 */
export async function sendPage(request: FastifyRequest, reply: FastifyReply, html: string) {
  reply.type('text/html; charset=utf-8').header('vary', 'accept-encoding')
  if (html.length >= GZIP_FROM_BYTES && acceptsGzip(request)) return reply.header('content-encoding', 'gzip').send(await compress(html))
  return reply.send(html)
}

export function acceptsGzip(request: FastifyRequest): boolean {
  return /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
}
