import { cutText } from '@gravito/quasar/protocol'

/**
 * Cuts a string to `max` characters, marking the cut; never splits a surrogate pair. A cut value
 * is an own copy: a failed job's 4 KB of data must not keep its multi-megabyte original alive for
 * as long as the snapshot shows it.
 */
export function truncate(value: string, max: number): string {
  return cutText(value, max, '…')
}
