/**
 * A name for this console process among its replicas: host, pid and a random part, so two
 * processes never share one, even in containers that all run as pid 1 on hosts of the same name.
 */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'

export function replicaName(): string {
  return `${hostname()
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 64)}-${process.pid}-${randomBytes(4).toString('hex')}`
}
