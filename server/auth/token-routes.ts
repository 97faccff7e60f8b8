/**
 * Routes for scrapers, not people: `/metrics`. They take the API token (`Authorization: Bearer`),
 * as /api/ does, and never a session cookie: Prometheus sends no cookie, and a cookie would cost
 * a session lookup in Redis on every scrape. Open when the console has no login and no token.
 */
import type { ZenithConfig } from '../config.js'

export const TOKEN_ROUTES: ReadonlySet<string> = new Set(['/metrics'])

/** the console has a login or an API token: token routes need the token */
export function tokenRequired(config: Pick<ZenithConfig, 'password' | 'usersFile' | 'apiToken'>): boolean {
  return config.password !== undefined || config.usersFile !== undefined || config.apiToken !== undefined
}

/** what a refused scraper is told: how to get in */
export function tokenRouteRefusal(apiToken: string | undefined): string {
  return apiToken === undefined
    ? 'this console requires a login, and /metrics accepts only the API token: start it with ZENITH_API_TOKEN (or --api-token) and send Authorization: Bearer <token>'
    : 'send Authorization: Bearer <token>, the token the console was given in ZENITH_API_TOKEN (or --api-token)'
}
