/**
 * The queues' rows for the history recorder: the queues plugin registers them with
 * `app.history.addRows`, so history records queues without knowing the queues area.
 */
import { nonNegative, type RowAdapter } from '../history/adapters.js'
import { queueRecordsOf } from './records.js'

/** Per queue: waiting, failed, throughput, at the time the counts were read. */
export const queueRows: RowAdapter = (snapshot) =>
  queueRecordsOf(snapshot).map((record) => ({
    kind: 'queue',
    service: record.service,
    id: record.name,
    t: record.timestamp,
    values: [nonNegative(record.waiting), nonNegative(record.failed), nonNegative(record.throughput)],
  }))
