/** Markdown for the archive sections of BENCHMARKS.md. */
import type { IngestResult, SearchResult } from './archive.js'

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

export const renderArchiveReport = {
  ingest(result: IngestResult, runs: number): string {
    const floor = result.rows[0]!
    const ours = result.rows[1]!
    return [
      '## Job archive ingest (SQLite)',
      '',
      `Records written through \`store.upsert\` in batches of ${ours.batch} (one transaction each, as the archiver calls it) into a new SQLite file (WAL, synchronous=NORMAL, every search index and the FTS5 text index), beside the floor: a raw batched \`INSERT\` of the same rows into the same tables and text index in the same batches, with no key lookup. The third row writes the same records again, as an at-least-once redelivery does: each one replaces its row in place. Records look like a busy fleet's (one in six failed with a stack of about 1 KB, about 300 bytes of data). Median of ${runs} runs, floor and store alternating which goes first. Aim: at least 5,000 records/s.`,
      '',
      table(
        ['writer', 'records', 'batch', 'seconds', 'records/s'],
        result.rows.map((r) => [r.writer, r.records, r.batch, r.seconds, r.recordsPerSec]),
      ),
      '',
      `Upsert / floor: **${Math.round((ours.recordsPerSec / floor.recordsPerSec) * 100) / 100}×** the floor's rate. On disk: about ${result.bytesPerRecord} bytes per record, indexes included. ${result.conditions}.`,
    ].join('\n')
  },
  search(result: SearchResult, runs: number, naiveRuns: number): string {
    return [
      `## Job archive search over ${result.records.toLocaleString('en')} jobs (SQLite)`,
      '',
      `One page of 50, newest first, through \`store.search\` on an archive of ${result.records.toLocaleString('en')} jobs filled through \`upsert\` in batches of 5,000 (${result.fillSeconds} s, ${Math.round(result.records / result.fillSeconds).toLocaleString('en')} records/s; ${result.fileMB} MB in use), against the naive way: the same rows in a table with no index but its key and no text index, searched with \`LIKE '%…%'\` and sorted by time (${result.naiveFileMB} MB). The deep page starts 10,000 rows in: a keyset cursor for ours, \`OFFSET\` for the naive table. "Partial" marks a page cut short by a search bound: a text search reads its newest 5,000 matches, and a data path looks at 10,000 rows per page; both say so, and a data search's next page goes on where it stopped. ${runs} runs of each search for ours, ${naiveRuns} for the naive scan, after one untimed run. Aim: p95 under 100 ms.`,
      '',
      table(
        ['search', 'query', 'ours p50 (ms)', 'ours p95 (ms)', 'rows', 'partial', 'naive LIKE p50 (ms)', 'naive LIKE p95 (ms)', 'naive / ours (p50)'],
        result.rows.map((r) => [r.search, `\`${r.ours}\``, r.oursP50Ms, r.oursP95Ms, r.oursRows, r.partial ? 'yes' : 'no', r.naiveP50Ms, r.naiveP95Ms, `${r.ratio}×`]),
      ),
      '',
      `${result.conditions}.`,
    ].join('\n')
  },
}
