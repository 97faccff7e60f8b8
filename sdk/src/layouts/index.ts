/**
 * `@gravito/quasar/layouts`: the BullMQ and Laravel key layouts and counting rules, shared by the
 * SDK's probes and the console's discovery so both read a queue the same way.
 */
export * from './keys.js'
export * from './bullmq.js'
export * from './laravel.js'
export * from './bullmq-jobs.js'
export * from './laravel-jobs.js'
