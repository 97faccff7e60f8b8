import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT_DIR } from './paths.js'

export const APP_VERSION: string = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version
