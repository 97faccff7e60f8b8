/**
 * The pub/sub wake-up: a dedicated subscriber connection (a subscribed connection can run nothing
 * else) to the node's command channel. Any message only says "look at the stream now", whatever it
 * holds: the console publishes `{"type":"wake"}`, older consoles the bare word `wake`, and neither
 * is parsed, so no payload can make the subscriber fail. The stream is the source of truth, so a
 * message lost while reconnecting costs a delay until the next beat, never a command. It
 * subscribes again on every (re)connect itself, since ioredis's own resubscription has no
 * rejection handler, and each (re)connect also triggers a read, to pick up whatever was added
 * while it was away.
 */
import { isCluster, type AgentRedis } from '../client.js'
import { AGENT_REDIS_OPTIONS } from '../transport.js'

export interface WakeUp {
  close(): Promise<void>
}

export function openWakeUp(options: { transport: AgentRedis; channel: string; connectionName: string; onWake: () => void; report: (error: unknown) => void }): WakeUp {
  const { channel, onWake, report } = options
  const subscriber = duplicateForSubscribing(options.transport, options.connectionName)
  let closed = false
  subscriber.on('error', () => {}) // a lost connection shows up as missed beats, reported by the agent
  subscriber.on('ready', () => {
    if (closed) return
    subscriber.subscribe(channel).then(
      () => onWake(),
      (error: unknown) => {
        if (!closed) report(error)
      },
    )
  })
  subscriber.on('message', (from: string) => {
    if (from === channel && !closed) onWake()
  })

  return {
    async close() {
      closed = true
      if (subscriber.status === 'ready') {
        await Promise.race([subscriber.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500).unref())])
      }
      subscriber.disconnect()
    },
  }
}

/**
 * Same server and credentials as the transport, with the agent's safe options. On a Cluster,
 * PUBLISH reaches every node, so the Cluster's one subscriber connection (on any node, moved by
 * ioredis when that node leaves, channels and all) hears the console wherever it published.
 */
function duplicateForSubscribing(transport: AgentRedis, connectionName: string): AgentRedis {
  if (!isCluster(transport)) return transport.duplicate({ ...AGENT_REDIS_OPTIONS, connectionName, autoResubscribe: false, lazyConnect: false })
  const { redisOptions } = transport.options
  return transport.duplicate(undefined, { redisOptions: { ...redisOptions, connectionName }, lazyConnect: false })
}
