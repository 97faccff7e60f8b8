/**
 * Reads an agent's object field by field against a zod object schema, down through nested objects,
 * so one bad field costs that field alone: `cpu.system: 150` must not cost `cpu.process`, and a
 * string `memory.system.total` must not cost `memory.process`. Only the schema's own keys are
 * copied (unknown fields, `__proto__` included, never are). What is dropped, clamped or cut is
 * added to the skip list with a plain reason.
 */
import { z } from 'zod'
import { cutText } from './text.js'
import { isPlainObject, kindOf, quoted, type SkipList } from './skips.js'

export interface FieldRules {
  /** number schemas whose out-of-range values are clamped to the bound, not dropped */
  readonly clamped?: ReadonlySet<z.ZodType>
  /** string schemas whose too-long values are cut to the bound (ending in `…`), not dropped */
  readonly cut?: ReadonlySet<z.ZodType>
  /** fields the caller reads itself; left out here */
  readonly except?: ReadonlySet<string>
}

/** The marker a cut string ends with, as the protocol states it. */
export const CUT_MARKER = '…'

type Shape = Record<string, z.ZodType>

export function readFields(shape: Shape, input: Record<string, unknown>, path: string, skips: SkipList, rules: FieldRules = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [field, schema] of Object.entries(shape)) {
    if (rules.except?.has(field) || !Object.hasOwn(input, field)) continue
    const read = readValue(schema, input[field], at(path, field), skips, rules)
    if (read !== undefined) out[field] = read
  }
  return out
}

/** One value against its schema: the value to keep, or undefined when nothing of it can be kept. */
export function readValue(schema: z.ZodType, value: unknown, path: string, skips: SkipList, rules: FieldRules = {}): unknown {
  const nested = objectShape(schema)
  if (nested) {
    if (!isPlainObject(value)) {
      skips.add(path, `${kindOf(value)}, not an object`)
      return undefined
    }
    const whole = schema.safeParse(value)
    if (whole.success) return whole.data
    const read = readFields(nested, value, path, skips, rules)
    return Object.keys(read).length > 0 ? read : undefined
  }
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const repaired = issue ? repair(schema, value, issue, rules) : null
  if (repaired) {
    skips.add(path, repaired.reason)
    return repaired.value
  }
  skips.add(path, issue ? reasonOf(issue, value) : 'does not match the protocol')
  return undefined
}

/** A bounded number clamped, or a bounded string cut, when the rules allow it for this schema. */
function repair(schema: z.ZodType, value: unknown, issue: z.core.$ZodIssue, rules: FieldRules): { value: unknown; reason: string } | null {
  const base = unwrapOptional(schema)
  if (typeof value === 'number' && Number.isFinite(value) && rules.clamped?.has(base)) {
    if (issue.code === 'too_big') return checked(schema, Number(issue.maximum), `${value} is over ${issue.maximum}: clamped to ${issue.maximum}`)
    if (issue.code === 'too_small') return checked(schema, Number(issue.minimum), `${value} is under ${issue.minimum}: clamped to ${issue.minimum}`)
  }
  if (typeof value === 'string' && issue.code === 'too_big' && rules.cut?.has(base)) {
    const max = Number(issue.maximum)
    return checked(schema, cutText(value, max, CUT_MARKER), `${value.length} characters, over ${max}: cut`)
  }
  return null
}

function checked(schema: z.ZodType, value: unknown, reason: string): { value: unknown; reason: string } | null {
  const parsed = schema.safeParse(value)
  return parsed.success ? { value: parsed.data, reason } : null
}

const EXPECTED: Record<string, string> = { number: 'a number', string: 'a string', object: 'an object', array: 'a list', boolean: 'a boolean', int: 'a whole number' }

/** What was wrong with a value, in words (agent text quoted short: reasons reach logs and pages). */
export function reasonOf(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int' && typeof value === 'number') return `${value} is not a whole number`
      return `${kindOf(value)}, not ${EXPECTED[issue.expected] ?? issue.expected}`
    case 'too_big':
      if (typeof value === 'string') return `${value.length} characters, over ${issue.maximum}`
      if (Array.isArray(value)) return `${value.length} items, over ${issue.maximum}`
      return `${quoted(value)} is over ${issue.maximum}`
    case 'too_small':
      if (typeof value === 'number' && Number(issue.minimum) === 0) return `${value} is negative`
      if (typeof value === 'string') return `${value.length} characters, under ${issue.minimum}`
      return `${quoted(value)} is under ${issue.minimum}`
    case 'invalid_value':
      return `unknown value ${quoted(value)}`
    case 'invalid_format':
      return `${quoted(value)} ${issue.message}`
    default:
      return issue.message
  }
}

export function at(path: string, field: string | number): string {
  if (typeof field === 'number') return `${path}[${field}]`
  return path === '' ? field : `${path}.${field}`
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? unwrapOptional(schema.unwrap() as z.ZodType) : schema
}

function objectShape(schema: z.ZodType): Shape | null {
  const base = unwrapOptional(schema)
  return base instanceof z.ZodObject ? base.shape : null
}
