/**
 * Every field a reader dropped, clamped or cut reaches the bad-data log as `field: reason`, the form
 * the problems page and `zenith doctor` list. A reader keeps at most MAX_SKIPS per document; the
 * rest are reported as one count, so a document with thousands of bad fields costs a bounded
 * number of reports.
 */
import type { Skip } from '@gravito/quasar/protocol'
import type { BadDataLog } from './bad-data-log.js'

export function reportSkips(badData: BadDataLog, key: string, skipped: readonly Skip[], total: number): void {
  for (const skip of skipped) badData.report(key, `${skip.field}: ${skip.reason}`)
  if (total > skipped.length) badData.report(key, `*: ${total - skipped.length} more fields skipped, clamped or cut, not listed one by one`)
}
