/**
 * A page and its polled fragment, both built from the latest snapshot with the same validated
 * query. The page's template includes the fragment's, so first paint and every poll produce the
 * same markup; the fragment is rendered once per snapshot version and query, for every viewer.
 */
import type { FastifyInstance } from 'fastify'
import type { z } from 'zod'
import type { Snapshot } from '../collector/snapshot.js'
import type { ZodTypeProvider } from './validate.js'
import { createFragmentCache } from './fragment-cache.js'
import { sendFragment } from './send-fragment.js'

export interface PolledPageSpec<S extends z.ZodType, V> {
  page: { url: string; template: string; title: string }
  fragment: { url: string; template: string }
  query: S
  /** tells apart the renders of one snapshot: every query field that changes the markup */
  cacheKey(query: z.infer<S>): string
  build(snapshot: Snapshot, query: z.infer<S>): V
  /** view helpers, passed to both templates as `h` */
  helpers: object
}

export function registerPolledPage<S extends z.ZodType, V>(app: FastifyInstance, spec: PolledPageSpec<S, V>): void {
  const fragments = createFragmentCache()
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const schema = { querystring: spec.query }

  routes.get(spec.page.url, { schema }, async (request, reply) => {
    const query = request.query as z.infer<S>
    const view = spec.build(app.collector.snapshot, query)
    return reply.viewAsync(spec.page.template, { title: spec.page.title, view, h: spec.helpers }, { layout: 'layout' })
  })

  routes.get(spec.fragment.url, { schema }, async (request, reply) => {
    const query = request.query as z.infer<S>
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, spec.cacheKey(query), () => app.view(spec.fragment.template, { view: spec.build(snapshot, query), h: spec.helpers }))
    return sendFragment(request, reply, fragment)
  })
}
