/**
 * Runs the built `zenith` bin (dist/server/cli.js, so `npm run build` first) as a real process with
 * a clean environment: none of the variables the CLI reads leak in from the developer's shell.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT_DIR } from '../../server/paths.js'

export const CLI_PATH = join(ROOT_DIR, 'dist/server/cli.js')

const READ_BY_CLI = /^(REDIS_URL|PORT|HOST|QUASAR_PREFIX|QUASAR_TOKEN|LOG_LEVEL|ZENITH_.*)$/

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!READ_BY_CLI.test(name)) env[name] = value
  return { ...env, ...extra }
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs to completion (commands that fail or print and exit); `input` is written to its stdin. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), input?: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  child.stdin?.end(input)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  return { code, signal, stdout, stderr }
}

/**
 * node is given by absolute path, so PATH can be set to anything, even a folder without
 * redis-server. `ownGroup` gives the process its own process group, as a shell does for a job, so
 * a test can signal the whole group the way Ctrl-C in a terminal does.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), ownGroup = false): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup })
}

/** The pino lines a process printed so far, parsed; other lines are skipped. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line)
      return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : []
    } catch {
      return []
    }
  })
}

/** true while a process exists and is not a zombie (a reparented child may wait to be reaped). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}
