import { z } from 'zod'
import { nameSchema, queueNameSchema } from '@gravito/quasar/protocol'
import { RANGES } from './metrics.js'

export const nodeParamsSchema = z.object({ service: nameSchema, nodeId: nameSchema })
export const queueParamsSchema = z.object({ service: nameSchema, queue: queueNameSchema })

/** `?range=`; absent means the last hour, anything else outside the list is a 400 */
export const rangeQuerySchema = z.object({ range: z.enum(RANGES).default('1h') })
