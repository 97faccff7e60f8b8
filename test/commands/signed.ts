/**
 * Commands built and delivered the way the console does (XADD to the node's stream + PUBLISH on
 * its channel), or forged and written straight into Redis, for tests of what an agent executes.
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { COMMAND_FIELD, COMMAND_STREAM_MAXLEN, COMMAND_TTL_MS, readCommandResult, signCommand, type CommandResult, type ProtocolKeys, type UnsignedCommand } from '@gravito/quasar/protocol'

export const TOKEN = 'test-quasar-token-0123456789abcdef'

export function newCommandId(): string {
  return randomBytes(16).toString('base64url')
}

export function unsignedCommand(fields: Partial<UnsignedCommand> & Pick<UnsignedCommand, 'service' | 'nodeId' | 'queue' | 'jobId'>): UnsignedCommand {
  const issuedAt = fields.issuedAt ?? Date.now()
  return { v: 1, id: newCommandId(), type: 'RETRY_JOB', issuedAt, expiresAt: issuedAt + COMMAND_TTL_MS, ...fields }
}

/** Appends any JSON (or text) as a command entry of the node's stream and wakes its agent. */
export async function deliver(redis: Redis, keys: ProtocolKeys, service: string, nodeId: string, command: unknown): Promise<void> {
  const json = typeof command === 'string' ? command : JSON.stringify(command)
  await redis.pipeline().xadd(keys.commandStream(service, nodeId), 'MAXLEN', '~', String(COMMAND_STREAM_MAXLEN), '*', COMMAND_FIELD, json).publish(keys.commandChannel(service, nodeId), 'wake').exec()
}

export async function sendSigned(redis: Redis, keys: ProtocolKeys, command: UnsignedCommand, token = TOKEN) {
  const signed = signCommand(command, token)
  await deliver(redis, keys, command.service, command.nodeId, signed)
  return signed
}

/** The result the agent of `service` wrote for command `id`, if any. */
export async function resultOf(redis: Redis, keys: ProtocolKeys, service: string, id: string): Promise<CommandResult | null> {
  return readCommandResult(await redis.get(keys.commandResult(service, id)))
}
