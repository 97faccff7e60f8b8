/**
 * The console serves every request from one event loop, and a few loops run over the whole fleet
 * (parsing 20,000 heartbeats, queueing 20,000 history writes). Run in one go, such a loop holds
 * every request until it ends; a slice timer lets it hand the loop back after each `sliceMs` of
 * work, so a request waits about one slice instead.
 *
 *   const slice = sliceTimer()
 *   for (const item of items) {
 *     if (slice.due()) await slice.pause()
 *     work(item)
 *   }
 */
export const DEFAULT_SLICE_MS = 20

export interface SliceTimer {
  /** this slice has run its time: call pause() before the next item */
  due(): boolean
  /** yields to waiting I/O and timers, then starts a new slice */
  pause(): Promise<void>
}

export function sliceTimer(sliceMs = DEFAULT_SLICE_MS): SliceTimer {
  let sliceStart = performance.now()
  return {
    due: () => performance.now() - sliceStart >= sliceMs,
    async pause() {
      // setImmediate, not a resolved promise: microtasks would run before any I/O callback
      await new Promise<void>((resolve) => setImmediate(resolve))
      sliceStart = performance.now()
    },
  }
}
