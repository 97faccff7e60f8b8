/**
 * A TCP proxy in front of Redis that a test can cut: every connection through it is dropped and
 * new ones refused until it is reopened. The agent then sees a real network outage while the test
 * (connected to Redis directly) keeps writing.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'

export interface CuttableProxy {
  url: string
  cut(): Promise<void>
  reopen(): Promise<void>
  close(): Promise<void>
}

export async function cuttableProxy(redisPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>()
  let server: Server | null = null
  let port = 0

  async function listen(): Promise<void> {
    const next = createServer((client) => {
      const upstream = connect(redisPort, '127.0.0.1')
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    next.listen(port, '127.0.0.1')
    await once(next, 'listening')
    const address = next.address()
    port = typeof address === 'object' && address ? address.port : port
    server = next
  }

  async function stop(): Promise<void> {
    const running = server
    server = null
    for (const socket of sockets) socket.destroy()
    if (running) await new Promise((resolve) => running.close(resolve))
  }

  await listen()
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: stop,
    reopen: listen,
    close: stop,
  }
}
