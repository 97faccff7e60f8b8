/**
 * `npm test`: runs tap and, when its output is not a terminal (CI, a log file), repeats every
 * failed assertion at the very end with the file and subtests it sits in. A full run prints some
 * 40,000 lines and a CI log is often read from its tail only: without this the tail says how many
 * tests failed but not which. At a terminal tap's own reporter already lists the failures.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const args = process.argv.slice(2)
const tap = spawn('npx', ['tap', ...args], { stdio: process.stdout.isTTY ? 'inherit' : ['inherit', 'pipe', 'inherit'] })

/** failures named at the end; the first DETAILED_FAILURES also with DIAGNOSTIC_LINES of their YAML block */
const MAX_FAILURES = 40
const DETAILED_FAILURES = 8
const DIAGNOSTIC_LINES = 14

const failures = []
if (tap.stdout) {
  /** the subtest names enclosing the current line, by indentation level (4 spaces a level) */
  const path = []
  /** the failure whose YAML diagnostic block is being read, and its block's indentation */
  let reading = null
  const lines = createInterface({ input: tap.stdout, crlfDelay: Infinity })
  lines.on('line', (line) => {
    process.stdout.write(`${line}\n`)
    const indent = line.length - line.trimStart().length
    const text = line.trim()
    if (reading) {
      if (indent >= reading.indent && text !== '...') {
        if (reading.failure.diagnostic.length < DIAGNOSTIC_LINES) reading.failure.diagnostic.push(line.slice(reading.indent))
        return
      }
      reading = null
    }
    const level = Math.floor(indent / 4)
    const subtest = /^# Subtest: (.*)$/.exec(text)
    if (subtest) {
      path.length = level
      path[level] = subtest[1]
      return
    }
    const failed = /^not ok \d+ - (.*?)(?: # time=[\d.]+m?s)?$/.exec(text)
    if (failed) {
      path.length = level
      const failure = { where: [...path, failed[1]].join(' > '), diagnostic: [] }
      failures.push(failure)
      reading = { failure, indent: indent + 2 }
    }
  })
}

tap.on('exit', (code, signal) => {
  // a failed file also shows as a failed parent: repeat only the failures no other one is inside
  const innermost = failures.filter((failure) => !failures.some((other) => other.where.startsWith(`${failure.where} > `)))
  if (innermost.length > 0) {
    // details first and the names last, so that the last lines of a log always name every failure
    process.stdout.write(`\n# what failed (repeated from above):\n`)
    for (const failure of innermost.slice(0, DETAILED_FAILURES)) {
      process.stdout.write(`# not ok: ${failure.where}\n`)
      for (const line of failure.diagnostic) process.stdout.write(`#   ${line}\n`)
    }
    process.stdout.write(`# ${innermost.length} failed:\n`)
    for (const failure of innermost.slice(0, MAX_FAILURES)) process.stdout.write(`# not ok: ${failure.where}\n`)
    if (innermost.length > MAX_FAILURES) process.stdout.write(`# … and ${innermost.length - MAX_FAILURES} more above\n`)
  }
  process.exitCode = signal ? 1 : (code ?? 1)
})
