/**
 * CPU busy percentages from deltas between two beats: the whole system (os.cpus() times) and this
 * process (process.cpuUsage()). The first reading compares against process start and boot.
 */
import { cpus } from 'node:os'

export interface CpuReading {
  system: number
  process: number
  cores: number
}

interface Totals {
  idle: number
  total: number
}

function systemTotals(): Totals {
  let idle = 0
  let total = 0
  for (const cpu of cpus()) {
    const t = cpu.times
    idle += t.idle
    total += t.user + t.nice + t.sys + t.idle + t.irq
  }
  return { idle, total }
}

const clampPercent = (value: number) => (Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0)

export function createCpuSampler() {
  let lastSystem = systemTotals()
  let lastProcess = process.cpuUsage()
  let lastWall = process.hrtime.bigint()
  let first = true

  return function sample(): CpuReading {
    const cores = Math.max(1, cpus().length)
    const system = systemTotals()
    const processUsage = process.cpuUsage()
    const wall = process.hrtime.bigint()
    const totalDelta = system.total - lastSystem.total
    const idleDelta = system.idle - lastSystem.idle
    const wallMicros = Number(wall - lastWall) / 1000
    const processMicros = processUsage.user - lastProcess.user + (processUsage.system - lastProcess.system)
    const reading: CpuReading = {
      system: first || totalDelta <= 0 ? clampPercent((1 - system.idle / Math.max(1, system.total)) * 100) : clampPercent((1 - idleDelta / totalDelta) * 100),
      process: wallMicros > 0 ? clampPercent((processMicros / wallMicros / cores) * 100) : 0,
      cores,
    }
    lastSystem = system
    lastProcess = processUsage
    lastWall = wall
    first = false
    return reading
  }
}
