/**
 * Front-end files served from npm packages, renamed with their version so a browser never mixes
 * an old copy with a new page. scripts/vendor.mjs copies them into public/vendor at build time.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

function packageDir(name: string): { dir: string; version: string } {
  const manifest = require.resolve(`${name}/package.json`)
  return { dir: dirname(manifest), version: (require(manifest) as { version: string }).version }
}

export function vendoredAssets() {
  const htmx = packageDir('htmx.org')
  const uplot = packageDir('uplot')
  const files = {
    htmx: { from: join(htmx.dir, 'dist/htmx.min.js'), name: `htmx-${htmx.version}.min.js` },
    uplot: { from: join(uplot.dir, 'dist/uPlot.iife.min.js'), name: `uplot-${uplot.version}.iife.min.js` },
    uplotCss: { from: join(uplot.dir, 'dist/uPlot.min.css'), name: `uplot-${uplot.version}.min.css` },
  }
  const urls = Object.fromEntries(Object.entries(files).map(([key, file]) => [key, `/assets/vendor/${file.name}`])) as Record<keyof typeof files, string>
  return { files, urls }
}
