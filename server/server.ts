/**
 * The process around the app: builds the logger, starts the embedded redis-server when no Redis URL
 * is configured, listens, and on SIGTERM or SIGINT shuts down in order within SHUTDOWN_DELAY_MS.
 * app.close() stops listening and lets in-flight requests finish, then runs the plugins' onClose
 * hooks in reverse order (collector, then the Redis connections); the embedded redis-server goes last.
 */
import type { AddressInfo } from 'node:net'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import closeWithGrace from 'close-with-grace'
import zenith from './app.js'
import { MAX_PARAM_LENGTH } from './http/urls.js'
import { systemClock } from './clock.js'
import type { ZenithConfig } from './config.js'
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded/redis-server.js'
import { fastifyTrustProxy } from './http/trust-proxy.js'

/** What a signal leaves for the whole shutdown before the process exits with code 1. */
export const SHUTDOWN_DELAY_MS = 10_000

export interface ServerOptions {
  /** where pino writes its JSON lines; stdout when absent */
  logStream?: { write(line: string): void }
}

export interface RunningServer {
  app: FastifyInstance
  /** the URL the console serves, with the bound port (useful with port 0) */
  url: string
  redisUrl: string
  embeddedRedis: EmbeddedRedis | null
  /** Stops everything in order; safe to call more than once. */
  close(): Promise<void>
}

export function loggerOptions(config: ZenithConfig, options: ServerOptions = {}): FastifyServerOptions['logger'] {
  return options.logStream ? { level: config.logLevel, stream: options.logStream } : { level: config.logLevel }
}

/**
 * Every open page polls its fragments every few seconds, so one info line per request would bury
 * everything else: requests log at debug (`--log-level debug` shows them); failures keep their level.
 */
class RequestLogsAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply)
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}

/** Starts the console without touching process signals: tests and embedders call `close()` themselves. */
export async function createServer(config: ZenithConfig, options: ServerOptions = {}): Promise<RunningServer> {
  const app = Fastify({ logger: loggerOptions(config, options), logController: new RequestLogsAtDebug(), trustProxy: fastifyTrustProxy(config.trustProxy), routerOptions: { maxParamLength: MAX_PARAM_LENGTH } })
  let embeddedRedis: EmbeddedRedis | null = null
  try {
    if (config.redisUrl === undefined) {
      embeddedRedis = await startEmbeddedRedis({ dataDir: config.dataDir, log: app.log })
    }
    const redisUrl = config.redisUrl ?? embeddedRedis!.url
    await app.register(zenith, { config: { ...config, redisUrl }, clock: systemClock, autoStart: true })
    await app.listen({ host: config.host, port: config.port })

    const url = `http://${urlHost(config.host)}:${(app.server.address() as AddressInfo).port}`
    app.log.info({ url, redis: embeddedRedis ? 'embedded' : 'external' }, `Zenith console at ${url}`)

    let closing: Promise<void> | null = null
    const close = () =>
      (closing ??= (async () => {
        await app.close()
        await embeddedRedis?.stop()
        app.log.info('stopped')
      })())
    return { app, url, redisUrl, embeddedRedis, close }
  } catch (error) {
    await app.close().catch(() => {})
    await embeddedRedis?.stop()
    throw error
  }
}

/** The CLI's entry: createServer plus graceful shutdown on signals and fatal errors. */
export async function startServer(config: ZenithConfig, options: ServerOptions = {}): Promise<RunningServer> {
  const server = await createServer(config, options)
  const log = server.app.log
  closeWithGrace({ delay: SHUTDOWN_DELAY_MS, logger: { error: (message: unknown) => log.error(message) } }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'fatal error, shutting down')
    else log.info({ signal }, 'shutting down')
    await server.close()
  })
  return server
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
