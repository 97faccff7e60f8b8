// Copies the front-end libraries into public/vendor under versioned names (see server/vendored-assets.ts).
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { vendoredAssets } from '../dist/server/vendored-assets.js'

const target = new URL('../public/vendor/', import.meta.url).pathname
mkdirSync(target, { recursive: true })
for (const file of Object.values(vendoredAssets().files)) copyFileSync(file.from, join(target, file.name))
