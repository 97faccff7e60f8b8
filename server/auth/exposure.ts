/**
 * Running open is explicit: without a password or users file the console may only listen on
 * loopback, unless `--insecure` says otherwise. The CLI calls `checkExposure` before listening
 * (error → exit 2); the auth plugin calls it at boot and logs the warning.
 */
import type { ZenithConfig } from '../config.js'
import { isLoopback } from '../security/loopback.js'

export type ExposureConfig = Pick<ZenithConfig, 'host' | 'password' | 'usersFile' | 'apiToken' | 'insecure'>

export type ExposureCheck = { ok: true; warning?: string } | { ok: false; error: string }

export function checkExposure(config: ExposureConfig): ExposureCheck {
  if (config.password !== undefined && config.usersFile !== undefined) {
    return { ok: false, error: 'set either a password (ZENITH_PASSWORD) or a users file (ZENITH_USERS), not both' }
  }
  if (config.password !== undefined || config.usersFile !== undefined) return { ok: true }

  const apiOnly = config.apiToken !== undefined ? ' (the API token protects /api/ and /metrics only)' : ''
  if (isLoopback(config.host)) {
    return {
      ok: true,
      warning: `running without a password: anyone on this machine can see the console and send commands${apiOnly}; set ZENITH_PASSWORD or ZENITH_USERS to require a login`,
    }
  }
  if (config.insecure) {
    return {
      ok: true,
      warning: `running without a password on ${config.host} (--insecure): anyone who can reach this address can see the console and send commands${apiOnly}`,
    }
  }
  return {
    ok: false,
    error: `refusing to listen on ${config.host} without a password: set ZENITH_PASSWORD or ZENITH_USERS, or pass --insecure to run open`,
  }
}
