import { freemem, totalmem } from 'node:os'

export function readMemory() {
  const total = totalmem()
  const free = freemem()
  const usage = process.memoryUsage()
  return {
    system: { total, free, used: Math.max(0, total - free) },
    process: { rss: usage.rss, heapTotal: usage.heapTotal, heapUsed: usage.heapUsed },
  }
}
