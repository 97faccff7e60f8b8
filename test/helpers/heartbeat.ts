/** A complete, valid heartbeat for tests, with any field overridden. */
import type { Heartbeat } from '@gravito/quasar/protocol'

export function sampleHeartbeat(overrides: Partial<Heartbeat> & { timestamp: number }): Heartbeat {
  return {
    id: 'node-1',
    service: 'billing',
    language: 'node',
    version: '20.20.2',
    pid: 4242,
    hostname: 'web-1',
    platform: 'linux',
    cpu: { system: 42.5, process: 12.25, cores: 2 },
    memory: {
      system: { total: 8e9, free: 3e9, used: 5e9 },
      process: { rss: 150e6, heapTotal: 80e6, heapUsed: 60e6 },
    },
    runtime: { uptime: 3600 },
    eventLoop: { lagMs: 1.5, p99Ms: 12 },
    disk: { path: '/', total: 100e9, free: 40e9 },
    appVersion: '1.2.3',
    protocol: 1,
    ...overrides,
  }
}
