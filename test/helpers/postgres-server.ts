/**
 * A private PostgreSQL 15 (Debian's `postgresql-15`) for tests: a fresh cluster in a temp folder,
 * listening on 127.0.0.1 on a free port with its unix socket in the same folder, removed on `stop`.
 *
 * PostgreSQL refuses to run as root, and tests run as root in CI: then the server runs as the
 * `postgres` system user the package creates (`setpriv` execs, so the child's pid is the
 * postmaster's own and signals reach it directly). Durability is switched off (fsync, WAL flushes)
 * because a test cluster is thrown away: that makes initdb and every commit much cheaper.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { freePort } from './redis-server.js'

/** Debian's layout: 15 is bookworm's version; a newer major (a later Debian) works the same way. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb'))) : []
  if (majors.length === 0) throw new Error(`no PostgreSQL server under ${root}: install Debian's postgresql package (.ci/run does)`)
  const major = majors.includes('15') ? '15' : majors.sort((a, b) => Number(b) - Number(a))[0]!
  return join(root, major, 'bin')
}

export interface TestPostgres {
  /** the `postgres` database as the superuser `postgres` (trust authentication on loopback) */
  url: string
  port: number
  /** a new empty database on this server, for one test's own tables */
  createDatabase(): Promise<string>
  /** fast shutdown: clients are disconnected, the data stays for `restart` */
  halt(): Promise<void>
  /** starts it again on the same port with the same data */
  restart(): Promise<void>
  /** stops the server for good and removes its folder */
  stop(): Promise<void>
}

interface RunAs {
  uid: number
  gid: number
  user: string
}

/** As root, the package's `postgres` user; otherwise whoever runs the tests. */
function runAs(): RunAs | null {
  if (process.getuid?.() !== 0) return null
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (uid.status !== 0 || gid.status !== 0) throw new Error('tests run as root, and PostgreSQL refuses root: the postgres user from the postgresql package is missing')
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), user: 'postgres' }
}

function command(user: RunAs | null, binary: string, args: string[]): [string, string[]] {
  const path = join(postgresBin(), binary)
  if (!user) return [path, args]
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--reset-env', path, ...args]]
}

export async function startPostgres(): Promise<TestPostgres> {
  const user = runAs()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'zenith-postgres-'))
  if (user) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')

  const [initdb, initArgs] = command(user, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'])
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8', cwd: dir })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${(init.stderr || init.stdout || String(init.error)).trim()}`)
  }

  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '64MB',
    max_connections: '40',
    // a test cluster has no crash to recover from that matters: keep checkpoints out of the way
    max_wal_size: '1GB',
    log_min_messages: 'warning',
  }
  const serverArgs = ['-D', data, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])]
  let child: ChildProcess | null = null

  async function launch(): Promise<void> {
    const [postgres, args] = command(user, 'postgres', serverArgs)
    const started = spawn(postgres, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    child = started
    let log = ''
    const ready = new Promise<void>((resolve, reject) => {
      started.stderr?.setEncoding('utf8')
      started.stderr?.on('data', (chunk: string) => {
        if (log.length < 64 * 1024) log += chunk
        if (log.includes('ready to accept connections')) resolve()
      })
      started.once('exit', (code, signal) => reject(new Error(`postgres on port ${port} exited at start (${code ?? signal}): ${log.trim()}`)))
      started.once('error', reject)
    })
    await ready
    // keep draining stderr so a chatty server never blocks on a full pipe
    started.stderr?.removeAllListeners('data')
    started.stderr?.resume()
  }

  async function halt(): Promise<void> {
    const running = child
    child = null
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, then it exits cleanly
    running.kill('SIGINT')
    await exited
  }

  await launch()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let databases = 0
  return {
    url,
    port,
    createDatabase: async () => {
      const name = `test_${++databases}`
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        // template0 and the file-copy strategy: the cheapest CREATE DATABASE on a small cluster
        await client.query(`CREATE DATABASE ${name} TEMPLATE template0 STRATEGY file_copy`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    halt,
    restart: launch,
    stop: async () => {
      await halt()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A private PostgreSQL for one test file or subtest, stopped and removed in `t.teardown`. */
export async function usePostgres(t: Pick<Test, 'teardown'>): Promise<TestPostgres> {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  return server
}
