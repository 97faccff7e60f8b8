// Checks the README's "from tarballs" install the way a user outside this repository meets it:
// packs the SDK and the console (`npm pack` builds both through `prepare`), installs the two
// tarballs into an empty folder outside the repository (dependencies from the npm cache, else the
// registry), then runs `npx zenith --help` and imports the SDK there. Fails on an EBADENGINE
// warning, on an SDK tarball without its README or LICENSE, or on either command failing.
//   npm run pack:check            (about a minute; needs the npm registry or a warm npm cache)
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'zenith-pack-'))
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'warn' } })
/** stdout and stderr together: npm prints its warnings on stderr */
const runBoth = (command, args, cwd) => execFileSync('sh', ['-c', `"$0" "$@" 2>&1`, command, ...args], { cwd, encoding: 'utf8' })

try {
  const packs = join(work, 'packs')
  mkdirSync(packs)
  run('npm', ['pack', '--workspace', 'sdk', '--pack-destination', packs], root)
  run('npm', ['pack', '--pack-destination', packs], root)
  const tarballs = readdirSync(packs).filter((name) => name.endsWith('.tgz'))
  const sdk = tarballs.find((name) => name.startsWith('gravito-quasar-'))
  const console_ = tarballs.find((name) => name.startsWith('gravito-zenith-'))
  if (!sdk || !console_) throw new Error(`expected two tarballs, got ${tarballs.join(', ')}`)
  const sdkFiles = run('tar', ['tzf', join(packs, sdk)], root).split('\n')
  for (const file of ['README.md', 'LICENSE', 'dist/index.js']) if (!sdkFiles.includes(`package/${file}`)) throw new Error(`${sdk} lacks ${file}`)

  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check-app', private: true, type: 'module' }))
  const install = runBoth('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packs, sdk), join(packs, console_)], app)
  if (/EBADENGINE/.test(install)) throw new Error(`npm install warned EBADENGINE on Node ${process.version}:\n${install}`)
  const help = run('npx', ['--no-install', 'zenith', '--help'], app)
  if (!/start \[options\]/.test(help)) throw new Error(`npx zenith --help printed:\n${help}`)
  const imported = run(
    'node',
    ['--input-type=module', '-e', "import { startPulse } from '@gravito/quasar'; import { createKeys } from '@gravito/quasar/protocol'; console.log(typeof startPulse, createKeys().node('a', 'b'))"],
    app,
  )
  if (imported.trim() !== 'function gravito:quasar:node:a:b') throw new Error(`importing the SDK printed: ${imported}`)
  console.log(`ok: ${sdk} and ${console_} install on Node ${process.version} without EBADENGINE; zenith --help and the SDK import work`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
