/** Security headers on pages, fragments, API answers, assets and error pages alike. */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { CONTENT_SECURITY_POLICY } from '../../server/security/headers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const app = await buildTestApp({ redisUrl: redisServer.url })
t.teardown(() => app.close())
await app.collector.refresh()

for (const url of ['/pulse', '/fragments/pulse/nodes', '/api/pulse/nodes', '/alerts', '/login', '/assets/zenith.js', '/livez', '/no-such-page']) {
  t.test(`headers on ${url}`, async (t) => {
    const response = await app.inject({ url })
    t.equal(response.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    t.equal(response.headers['x-content-type-options'], 'nosniff')
    t.equal(response.headers['x-frame-options'], 'DENY')
    t.equal(response.headers['referrer-policy'], 'same-origin')
  })
}

t.test('the policy allows nothing inline and nothing from elsewhere', async (t) => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]))
  t.same(directives.get('script-src'), ["'self'"])
  t.same(directives.get('style-src'), ["'self'"])
  t.same(directives.get('frame-ancestors'), ["'none'"])
  t.same(directives.get('object-src'), ["'none'"])
  t.notMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*/)
})
