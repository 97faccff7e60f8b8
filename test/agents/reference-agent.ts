/**
 * Runs the reference agents of examples/ as an operator would: their own runtime (Debian's php-cli
 * with php-redis, /usr/bin/python3 with python3-redis), their own command line, only environment
 * variables in. `once` is one command pass, one work pass and one beat; `start` runs the agent as
 * a service does, one long-lived process, so what it keeps in memory between commands counts.
 */
import { execFile, spawn } from 'node:child_process'
import { once as eventOf } from 'node:events'
import { fileURLToPath } from 'node:url'

export const AGENT_KINDS = ['php', 'python'] as const
export type AgentKind = (typeof AGENT_KINDS)[number]

const scripts: Record<AgentKind, { command: string; script: string }> = {
  php: { command: 'php', script: fileURLToPath(new URL('../../examples/php-agent/agent.php', import.meta.url)) },
  // Debian's python3, which has python3-redis (a python3 earlier on PATH may not)
  python: { command: '/usr/bin/python3', script: fileURLToPath(new URL('../../examples/python-agent/agent.py', import.meta.url)) },
}

export interface AgentRun {
  code: number | null
  stdout: string
  stderr: string
}

export interface ReferenceAgent {
  kind: AgentKind
  env: Record<string, string>
  /** `extraEnv` for this run only (WORK_BATCH=0: report without running jobs) */
  once(extraEnv?: Record<string, string>): Promise<AgentRun>
  enqueue(queue: string, name: string, data?: unknown): Promise<string>
  /** the agent's own loop (beat every INTERVAL seconds, commands as they arrive) until `stop` */
  start(extraEnv?: Record<string, string>): RunningAgent
}

export interface RunningAgent {
  /** what it logged so far */
  stderr(): string
  stop(): Promise<void>
}

export function referenceAgent(kind: AgentKind, env: Record<string, string>): ReferenceAgent {
  const run = (args: string[], extraEnv: Record<string, string> = {}) => runAgent(kind, args, { ...env, ...extraEnv })
  return {
    kind,
    env,
    once: (extraEnv) => run(['--once'], extraEnv),
    enqueue: async (queue, name, data = {}) => {
      const answer = await run(['--enqueue', queue, name, JSON.stringify(data)])
      if (answer.code !== 0) throw new Error(`${kind} agent --enqueue failed: ${answer.stderr}`)
      return answer.stdout.trim()
    },
    start: (extraEnv = {}) => startAgent(kind, { ...env, ...extraEnv }),
  }
}

function startAgent(kind: AgentKind, env: Record<string, string>): RunningAgent {
  const { command, script } = scripts[kind]
  const child = spawn(command, [script], { env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = eventOf(child, 'exit')
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return {
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

export function runAgent(kind: AgentKind, args: string[], env: Record<string, string>): Promise<AgentRun> {
  const { command, script } = scripts[kind]
  return new Promise((resolve) => {
    // no __pycache__ written into examples/ by a test run
    execFile(command, [script, ...args], { env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}
