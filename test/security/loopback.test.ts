import t from 'tap'
import { isLoopback } from '../../server/security/loopback.js'

t.test('isLoopback', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', 'LOCALHOST', 'app.localhost', '0:0:0:0:0:0:0:1']) t.equal(isLoopback(host), true, host)
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '']) t.equal(isLoopback(host), false, host)
})
