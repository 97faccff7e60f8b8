/**
 * A real HTTP receiver on 127.0.0.1 for delivery tests: records every request and answers with
 * whatever `answer` says, including never answering at all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: any
}

export type Answer = number | 'hang' | { status: number; location: string }

export async function startReceiver(answer: (request: ReceivedRequest, index: number) => Answer = () => 200) {
  const requests: ReceivedRequest[] = []
  const hanging = new Set<ServerResponse>()
  let waiters: { count: number; wake: () => void }[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // kept as text
      }
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body }
      requests.push(request)
      for (const waiter of waiters) if (requests.length >= waiter.count) waiter.wake()
      waiters = waiters.filter((waiter) => requests.length < waiter.count)
      const reply = answer(request, requests.length - 1)
      if (reply === 'hang') {
        hanging.add(res)
        return
      }
      if (typeof reply === 'object') {
        res.writeHead(reply.status, { location: reply.location }).end()
        return
      }
      res.writeHead(reply, { 'content-type': 'text/plain' }).end(reply < 300 ? 'ok' : 'no')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    requests,
    /** resolves once `count` requests have arrived: an event to wait on instead of a poll */
    received(count: number): Promise<void> {
      if (requests.length >= count) return Promise.resolve()
      return new Promise((wake) => waiters.push({ count, wake }))
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      server.close()
      await once(server, 'close').catch(() => {})
    },
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>
