/**
 * A strict reader of the Prometheus text format (version 0.0.4), written from its specification so
 * that what /metrics sends is checked by something other than the library that wrote it. Throws on
 * anything a Prometheus server would refuse or read differently: a sample before its TYPE, a
 * family described twice, an unknown escape, a bad name, a value that is not a float, a series
 * sent twice, a missing final newline.
 */

export type Labels = Readonly<Record<string, string>>

export interface Sample {
  readonly name: string
  readonly labels: Labels
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  readonly samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline')
  const families = new Map<string, Family>()
  const seen = new Set<string>()
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line.slice(0, 120))}`
    if (line === '') return
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!match) {
        if (line.startsWith('# HELP') || line.startsWith('# TYPE')) throw new Error(`malformed ${where}`)
        return // a comment
      }
      const [, keyword, name, rest] = match as unknown as [string, 'HELP' | 'TYPE', string, string]
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in ${where}`)
      const family = families.get(name) ?? { name, help: '', type: 'untyped' as Family['type'], samples: [] }
      if (keyword === 'HELP') {
        if (family.help !== '') throw new Error(`second HELP for ${name}, ${where}`)
        ;(family as { help: string }).help = unescape(rest, false, where)
      } else {
        if (!TYPES.has(rest)) throw new Error(`unknown type in ${where}`)
        if (family.samples.length > 0) throw new Error(`TYPE after samples of ${name}, ${where}`)
        if (family.type !== 'untyped') throw new Error(`second TYPE for ${name}, ${where}`)
        ;(family as { type: Family['type'] }).type = rest as Family['type']
      }
      families.set(name, family)
      return
    }
    const sample = parseSample(line, where)
    const family = familyOf(families, sample.name)
    if (!family) throw new Error(`sample without TYPE: ${where}`)
    const id = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seen.has(id)) throw new Error(`series sent twice: ${where}`)
    seen.add(id)
    family.samples.push(sample)
  })
  return families
}

/** the family a sample belongs to: its own name, or a histogram's or summary's with a suffix */
function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const own = families.get(name)
  if (own && own.type !== 'histogram' && own.type !== 'summary') return own
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1]
  const family = base === undefined ? undefined : families.get(base)
  if (family && (family.type === 'histogram' || family.type === 'summary')) return family
  return own
}

function parseSample(line: string, where: string): Sample {
  const name = /^[^{\s]+/.exec(line)?.[0] ?? ''
  if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in ${where}`)
  let at = name.length
  const labels: Record<string, string> = {}
  if (line[at] === '{') {
    at += 1
    while (line[at] !== '}') {
      const labelName = /^[^=]*/.exec(line.slice(at))![0]
      if (!LABEL_NAME.test(labelName)) throw new Error(`bad label name ${JSON.stringify(labelName)} in ${where}`)
      if (labelName in labels) throw new Error(`label ${labelName} twice in ${where}`)
      at += labelName.length
      if (line.slice(at, at + 2) !== '="') throw new Error(`expected =" after ${labelName} in ${where}`)
      at += 2
      let raw = ''
      while (line[at] !== '"') {
        if (at >= line.length) throw new Error(`unterminated label value in ${where}`)
        if (line[at] === '\\') {
          raw += line.slice(at, at + 2)
          at += 2
        } else {
          raw += line[at]
          at += 1
        }
      }
      labels[labelName] = unescape(raw, true, where)
      at += 1
      if (line[at] === ',') at += 1
      else if (line[at] !== '}') throw new Error(`expected , or } in ${where}`)
    }
    at += 1
  }
  const rest = line.slice(at)
  const match = /^ (\S+)(?: (-?\d+))?$/.exec(rest)
  if (!match) throw new Error(`bad value part ${JSON.stringify(rest)} in ${where}`)
  return { name, labels, value: parseValue(match[1]!, where) }
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  if (!FLOAT.test(text)) throw new Error(`bad value ${JSON.stringify(text)} in ${where}`)
  return Number(text)
}

/** label values know \\, \" and \n; HELP text knows \\ and \n; anything else is an error */
function unescape(raw: string, quotes: boolean, where: string): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!
    if (char !== '\\') {
      if (quotes && char === '"') throw new Error(`unescaped quote in ${where}`)
      out += char
      continue
    }
    const next = raw[++i]
    if (next === '\\') out += '\\'
    else if (next === 'n') out += '\n'
    else if (next === '"' && quotes) out += '"'
    else throw new Error(`unknown escape \\${next ?? ''} in ${where}`)
  }
  return out
}

/** the samples named exactly `name` (a histogram's `_count` gives its count line only) */
export function samplesOf(families: Map<string, Family>, name: string): Sample[] {
  const family = familyOf(families, name)
  if (!family) throw new Error(`no metric ${name}`)
  return family.samples.filter((sample) => sample.name === name)
}

/** the value of the one sample of `name` whose labels include `labels`; undefined when none */
export function valueOf(families: Map<string, Family>, name: string, labels: Labels = {}): number | undefined {
  const found = samplesOf(families, name).filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
