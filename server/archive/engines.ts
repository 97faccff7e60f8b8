/**
 * Opens the configured archive engine. Each engine is imported only when chosen, so a console
 * with `--archive off` never loads a native module (better-sqlite3) or a driver it does not use.
 */
import type { ArchiveStore } from './store.js'
import type { ArchiveTarget } from './settings.js'

export type OpenStore = (target: Exclude<ArchiveTarget, { engine: 'off' }>) => Promise<ArchiveStore>

// not a literal: the PostgreSQL engine is another file's work, typed by this interface until it lands
const POSTGRES_ENGINE = './postgres-store.js'

interface PostgresEngine {
  openPostgresStore(url: string): ArchiveStore | Promise<ArchiveStore>
}

/** The engine's store, its tables made (`open` is idempotent). */
export const openArchiveStore: OpenStore = async (target) => {
  const store = target.engine === 'sqlite' ? (await import('./sqlite-store.js')).openSqliteStore(target.path) : await ((await import(POSTGRES_ENGINE)) as PostgresEngine).openPostgresStore(target.url)
  try {
    await store.open()
  } catch (error) {
    await store.close().catch(() => {})
    throw error
  }
  return store
}
