/**
 * Counts shown beside the navigation's links (the firing alerts beside "Alerts"). An area adds a
 * reader for its link; the layout reads them all on every page render, so every page load shows
 * the latest snapshot's counts. A reader must be cheap (one field of the snapshot): it runs per
 * render, fragments included.
 */
export interface NavCounts {
  /** `label` is the navigation link's text */
  add(label: string, read: () => number): void
  /** every count, by link label; a reader that throws counts as absent */
  read(): Readonly<Record<string, number>>
}

declare module 'fastify' {
  interface FastifyInstance {
    navCounts: NavCounts
  }
}

export function createNavCounts(): NavCounts {
  const readers = new Map<string, () => number>()
  return {
    add(label, read) {
      if (readers.has(label)) throw new Error(`a navigation count for ${label} is already registered`)
      readers.set(label, read)
    },
    read() {
      const counts: Record<string, number> = {}
      for (const [label, read] of readers) {
        try {
          counts[label] = read()
        } catch {
          // a count is decoration: a page never fails for it
        }
      }
      return counts
    },
  }
}
