/** What kind of request this is, for answers shaped for who asked (JSON, a page, an htmx swap). */
import type { FastifyRequest } from 'fastify'

export function pathOf(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/')
}

/** htmx sends HX-Request on every request it makes; its answer is swapped into the page, not shown as one */
export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] !== undefined
}
