/**
 * Which commands the console offers and accepts for a queue: exactly those its node declares
 * (`commands` in the queue's snapshot entry), whatever the driver. The console never guesses from
 * the driver, with one exception kept for agents from before declarations: a `bullmq` or `laravel`
 * entry that names its node and carries no `commands` field gets both commands, as it always did.
 * Everything else is read-only, with the reason a person reads on the queue's page.
 */
import { declaredCommands, type CommandType, type QueueDriver } from '@gravito/quasar/protocol'

export const READ_ONLY_REASONS = {
  discovered: 'discovered in Redis, no agent',
  noNode: 'no node known',
  undeclared: 'its agent does not declare commands',
  declaredNone: 'its agent declares no commands for it',
} as const

/** Drivers whose agents executed both commands before agents declared them (our SDK's probes). */
export const UNDECLARED_COMMAND_DRIVERS: ReadonlySet<QueueDriver> = new Set(['bullmq', 'laravel'])

/** A dropped part of the declaration, reported like every other skipped field. */
export interface CapabilitySkip {
  readonly field: string
  readonly reason: string
}

export interface Capability {
  readonly commands: readonly CommandType[]
  readonly readOnlyReason?: string
  /** the node declares LIST_JOBS: the console may ask it for its jobs (read-only) */
  readonly listsJobs?: boolean
}

export const DISCOVERED_CAPABILITY: Capability = { commands: [], readOnlyReason: READ_ONLY_REASONS.discovered }

const BOTH: readonly CommandType[] = ['RETRY_JOB', 'DELETE_JOB']

/**
 * The capability of a queue an agent reports. `namedNode` is the node the snapshot or the entry
 * names (a declaration needs one: the console must know who promised to execute); `nodeId` is the
 * node commands would go to, which for older agents may also be the live node whose heartbeat
 * lists the queue. `skips` name what of the declaration was ignored, and why.
 */
export function agentQueueCapability(
  entry: { readonly driver: QueueDriver; readonly commands?: readonly string[] | undefined },
  namedNode: string | undefined,
  nodeId: string | undefined,
): Capability & { skips: CapabilitySkip[] } {
  if (entry.commands === undefined) {
    if (nodeId === undefined) return { commands: [], readOnlyReason: READ_ONLY_REASONS.noNode, skips: [] }
    if (UNDECLARED_COMMAND_DRIVERS.has(entry.driver)) return { commands: BOTH, skips: [] }
    return { commands: [], readOnlyReason: READ_ONLY_REASONS.undeclared, skips: [] }
  }
  const { commands, reads, unknown } = declaredCommands(entry.commands)
  const skips: CapabilitySkip[] = unknown.length === 0 ? [] : [{ field: 'commands', reason: `unknown command types ignored: ${unknown.map((type) => JSON.stringify(type)).join(', ')}` }]
  if (namedNode === undefined) {
    if (commands.length > 0) skips.push({ field: 'commands', reason: 'declared without a nodeId (in the snapshot or the entry); ignored' })
    return { commands: [], readOnlyReason: READ_ONLY_REASONS.noNode, skips }
  }
  const lists = reads.includes('LIST_JOBS') ? { listsJobs: true } : {}
  return commands.length > 0 ? { commands, ...lists, skips } : { commands: [], readOnlyReason: READ_ONLY_REASONS.declaredNone, ...lists, skips }
}
