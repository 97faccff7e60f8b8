import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const here = fileURLToPath(new URL('.', import.meta.url))
/** The package root, whether running from server/*.ts (tests, tsx) or dist/server/*.js. */
export const ROOT_DIR = here.replace(/(dist[\\/])?server[\\/]$/, '')
export const VIEWS_DIR = join(ROOT_DIR, 'views')
export const PUBLIC_DIR = join(ROOT_DIR, 'public')
