/**
 * Opens the configured archive engine. Each engine is imported only when chosen, so a console
 * with `--archive off` never loads a native module (better-sqlite3) or a driver it does not use.
 */
import type { ArchiveStore } from './store.js'
import type { ArchiveTarget } from './settings.js'

export type OpenStore = (target: Exclude<ArchiveTarget, { engine: 'off' }>) => Promise<ArchiveStore>

/** The engine's store, its tables made. */
export const openArchiveStore: OpenStore = async (target) => {
  if (target.engine === 'postgres') return (await import('./postgres-store.js')).openPostgresStore(target.url)
  const store = (await import('./sqlite-store.js')).openSqliteStore(target.path)
  try {
    await store.open()
  } catch (error) {
    await store.close().catch(() => {})
    throw error
  }
  return store
}
