import t from 'tap'
import { fastifyTrustProxy, parseTrustProxy, trustProxySchema } from '../../server/http/trust-proxy.js'

const read = (text: string) => trustProxySchema.safeParse(parseTrustProxy(text))

t.test('hop counts and address lists are read; anything else is refused', async (t) => {
  t.same(read('1').data, 1)
  t.same(read(' 2 ').data, 2)
  t.same(read('127.0.0.1').data, ['127.0.0.1'])
  t.same(read('10.0.0.0/8, 192.168.1.1/24,::1,fd00::/8').data, ['10.0.0.0/8', '192.168.1.1/24', '::1', 'fd00::/8'])
  t.same(read('loopback,uniquelocal').data, ['loopback', 'uniquelocal'])
  for (const bad of ['0', '17', 'true', '*', 'proxy.example', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '10.0.0.1/x', '', ',', '-1']) {
    t.equal(read(bad).success, false, `refused: ${JSON.stringify(bad)}`)
  }
})

t.test('what Fastify gets: nothing trusted by default, a trust function for hops, the list as is', async (t) => {
  t.equal(fastifyTrustProxy(undefined), false)
  t.same(fastifyTrustProxy(['10.0.0.0/8']), ['10.0.0.0/8'])
  const hops = fastifyTrustProxy(2) as (address: string, hop: number) => boolean
  t.same(
    [0, 1, 2, 3].map((hop) => hops('203.0.113.9', hop)),
    [true, true, false, false],
  )
})
