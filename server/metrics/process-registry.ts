/**
 * The console process's own metrics (CPU, memory, heap, event loop lag, GC, handles), from
 * prom-client's default collectors, named `zenith_console_*` so they are not taken for the
 * monitored nodes' figures. One registry per process, made on first use: the collectors measure
 * the process, not an app, and each call of collectDefaultMetrics starts an event-loop monitor and
 * a GC observer that are never stopped, which tests and benches building many apps in one process
 * would otherwise pile up.
 */
import { collectDefaultMetrics, Registry } from 'prom-client'

export const PROCESS_PREFIX = 'zenith_console_'

let shared: Registry | undefined

export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry()
    collectDefaultMetrics({ register: shared, prefix: PROCESS_PREFIX })
  }
  return shared
}
