/**
 * Runs the PHP and Python agents of this folder once each (one beat), as a cron job or a sidecar
 * loop would. They speak only what PROTOCOL.md describes; nothing here helps them.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const here = (file: string) => new URL(file, import.meta.url).pathname

export interface RawAgentEnv {
  REDIS_PORT: string
  SERVICE: string
  NODE_ID: string
  [name: string]: string
}

export async function phpAgentBeat(env: RawAgentEnv): Promise<void> {
  await run('php', [here('./agent.php')], { env: { PATH: process.env.PATH, REDIS_HOST: '127.0.0.1', ...env }, timeout: 20_000 })
}

/** Debian's python3, which has python3-redis (a python3 earlier on PATH may not) */
export async function pythonAgentBeat(env: RawAgentEnv): Promise<void> {
  await run('/usr/bin/python3', [here('./agent.py')], { env: { PATH: process.env.PATH, REDIS_HOST: '127.0.0.1', ...env }, timeout: 20_000 })
}
