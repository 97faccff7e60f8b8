/**
 * Reading what agents wrote to a service's archive stream, strictly: every entry must pass
 * readJobRecord, or the test fails with the reason.
 */
import type { Cluster, Redis } from 'ioredis'
import { readJobRecord, type JobRecordEntry } from '../../src/protocol/index.js'

export async function archivedRecords(redis: Redis | Cluster, service: string): Promise<JobRecordEntry[]> {
  const entries = await redis.xrange(`gravito:quasar:archive:${service}`, '-', '+')
  return entries.map(([id, fields]) => {
    const read = readJobRecord(id, fields)
    if (!read.ok) throw new Error(`entry ${id} rejected: ${read.error}`)
    return read.value
  })
}

/** `jobId#attempt state` for each record, sorted: what a test compares. */
export function attemptKeys(records: readonly JobRecordEntry[]): string[] {
  return records.map((record) => `${record.jobId}#${record.attempt} ${record.state}`).sort()
}

/** The (jobId, attempt) pairs written more than once. */
export function duplicates(records: readonly JobRecordEntry[]): string[] {
  const seen = new Map<string, number>()
  for (const record of records) seen.set(`${record.queue}/${record.jobId}#${record.attempt}`, (seen.get(`${record.queue}/${record.jobId}#${record.attempt}`) ?? 0) + 1)
  return [...seen].filter(([, count]) => count > 1).map(([key]) => key)
}
