/** Epoch milliseconds. Injected everywhere time matters so tests can drive it with a fake clock. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()
