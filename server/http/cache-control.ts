/**
 * `Cache-Control: no-store` on every answer but the static assets: pages, fragments, API answers,
 * redirects and errors alike. What the console shows is who is on call, which jobs failed and why;
 * a stored copy outlives the session (Back after logout showed the whole previous page) and sits on
 * a shared machine's disk. The static files under /assets/ hold nothing of that and keep their own
 * caching (views plugin).
 *
 * Set in onSend, after every handler, so no route can forget it and none can loosen it: a polled
 * fragment keeps its ETag for clients that send If-None-Match themselves, but a browser no longer
 * stores it to revalidate.
 */
import fp from 'fastify-plugin'

const ASSET_ROUTE = '/assets/*'

export default fp(
  async (app) => {
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.routeOptions.url !== ASSET_ROUTE) reply.header('cache-control', 'no-store')
      return payload
    })
  },
  { name: 'zenith-cache-control' },
)
