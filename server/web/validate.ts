import type { FastifyReply } from 'fastify'
import type { z } from 'zod'

/**
 * Parses request input with a zod schema; on failure answers 400 with the first problem and
 * returns null, so a route reads `const q = parseOr400(...); if (!q) return reply`.
 */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown, reply: FastifyReply): z.infer<S> | null {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = issue?.path.join('.') || 'input'
  void reply.code(400).send({ error: 'Bad Request', message: `invalid ${field}: ${issue?.message ?? 'bad value'}` })
  return null
}
