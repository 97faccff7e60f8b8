/**
 * A queue whose finished jobs the recorder reads (one per monitored BullMQ or Horizon queue). The
 * recorder owns the lease, the cursor and the writes; a source only turns "what finished after
 * this cursor" into records, bounded per call.
 */
import type { JobRecord } from '../protocol/index.js'

export interface RecordContext {
  nodeId: string
  appVersion?: string
  redactKeys: readonly string[]
  now: () => number
}

export interface SourceBatch {
  records: JobRecord[]
  /** where the next read starts; unchanged when nothing was read */
  cursor: string | null
  /** more is readable right now (the batch was full) */
  more: boolean
  /** jobs that finished but can no longer be read (the stream was trimmed past the cursor) */
  gap?: string
}

export interface ArchiveSource {
  /** stable across nodes and restarts: names the lease and cursor keys */
  readonly id: string
  readonly queue: string
  read(cursor: string | null, context: RecordContext): Promise<SourceBatch>
  /** forgets what was read, after a failed write or when another node may have moved the cursor */
  reset?(): void
}
