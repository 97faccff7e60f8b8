import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RenderedFragment } from './fragment-cache.js'

/**
 * Answers a polled fragment (or a cached JSON answer): 304 when the client already has this body,
 * else the cached text, gzipped once per render for clients that accept it.
 */
export async function sendFragment(request: FastifyRequest, reply: FastifyReply, fragment: RenderedFragment, contentType = 'text/html; charset=utf-8') {
  // no-cache: the browser must revalidate each poll, and an unchanged fragment costs a 304
  reply.header('cache-control', 'no-cache').header('etag', fragment.etag).header('vary', 'accept-encoding').type(contentType)
  if (request.headers['if-none-match'] === fragment.etag) return reply.code(304).send()
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
  const gzipped = acceptsGzip ? fragment.gzipped() : null
  if (gzipped) return reply.header('content-encoding', 'gzip').send(await gzipped)
  return reply.send(await fragment.body())
}
