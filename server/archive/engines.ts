/**
 * Opens the configured archive engine. Each engine is imported only when chosen, so a console
 * with `--archive off` never loads a native module (better-sqlite3) or a driver it does not use.
 */
import type { ArchiveStore } from './store.js'
import type { ArchiveTarget } from './settings.js'

export type OpenStore = (target: Exclude<ArchiveTarget, { engine: 'off' }>) => Promise<ArchiveStore>

// held in variables: TypeScript would otherwise load both engines' types (and their drivers' types) for every build of this file
const SQLITE_ENGINE = './sqlite-store.js'
const POSTGRES_ENGINE = './postgres-store.js'

interface SqliteEngine {
  openSqliteStore(path: string): ArchiveStore | Promise<ArchiveStore>
}
interface PostgresEngine {
  openPostgresStore(url: string): ArchiveStore | Promise<ArchiveStore>
}

/** The engine's store, its tables made (`open` is idempotent). */
export const openArchiveStore: OpenStore = async (target) => {
  const store = target.engine === 'sqlite' ? await ((await import(SQLITE_ENGINE)) as SqliteEngine).openSqliteStore(target.path) : await ((await import(POSTGRES_ENGINE)) as PostgresEngine).openPostgresStore(target.url)
  try {
    await store.open()
  } catch (error) {
    await store.close().catch(() => {})
    throw error
  }
  return store
}
