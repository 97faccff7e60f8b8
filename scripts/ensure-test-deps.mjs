// Before `npm test`: the tests run a real redis-server, a real browser (Debian's chromium), and
// agents written in PHP and Python against the documented protocol (Debian's php-redis and
// python3-redis; the Python agent runs under /usr/bin/python3, whose modules apt installs), and
// the job archive's PostgreSQL engine against a private server from Debian's postgresql, and the
// Cluster and replica suites against Valkey 8 as well, from Debian's bookworm-backports.
// As root (CI, containers) missing packages are installed with apt-get; otherwise one line says
// what to install and the run stops. Silent when everything is present.
import { accessSync, constants, existsSync, readdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { delimiter, join } from 'node:path'

const needs = [
  { what: 'redis-server', pkg: 'redis-server', present: () => onPath('redis-server') },
  { what: 'chromium', pkg: 'chromium', present: () => executable('/usr/bin/chromium') },
  { what: 'php-cli', pkg: 'php-cli', present: () => onPath('php') },
  { what: 'php-redis', pkg: 'php-redis', present: () => succeeds('php', ['-r', 'exit(class_exists("Redis") ? 0 : 1);']) },
  { what: 'python3-redis', pkg: 'python3-redis', present: () => succeeds('/usr/bin/python3', ['-c', 'import redis']) },
  { what: 'postgresql', pkg: 'postgresql', present: () => postgresInstalled() },
  { what: 'valkey-server', pkg: 'valkey-server', suite: 'bookworm-backports', present: () => onPath('valkey-server') },
  { what: 'valkey-cli', pkg: 'valkey-tools', suite: 'bookworm-backports', present: () => onPath('valkey-cli') },
]

const BACKPORTS_SOURCE = '/etc/apt/sources.list.d/bookworm-backports.sources'
const BACKPORTS = ['Types: deb', 'URIs: http://deb.debian.org/debian', 'Suites: bookworm-backports', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '']

const missing = needs.filter((need) => !need.present())
if (missing.length === 0) process.exit(0)

const names = missing.map((need) => need.what).join(' and ')
const packages = missing.map((need) => need.pkg)
const fromBackports = missing.filter((need) => need.suite).map((need) => need.pkg)
const fromMain = missing.filter((need) => !need.suite).map((need) => need.pkg)
const hint = `${names} ${missing.length > 1 ? 'are' : 'is'} missing: sudo apt-get install ${packages.join(' ')}${fromBackports.length > 0 ? ` (${fromBackports.join(' ')} from bookworm-backports: -t bookworm-backports)` : ''}`

if (process.getuid?.() !== 0 || !onPath('apt-get')) {
  console.error(hint)
  process.exit(1)
}

console.error(`installing ${packages.join(' ')} with apt-get (needed by the tests)`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
if (fromBackports.length > 0 && !existsSync(BACKPORTS_SOURCE)) writeFileSync(BACKPORTS_SOURCE, BACKPORTS.join('\n'))
const steps = [['update']]
if (fromMain.length > 0) steps.push(['install', '-y', '--no-install-recommends', ...fromMain])
if (fromBackports.length > 0) steps.push(['install', '-y', '--no-install-recommends', '-t', 'bookworm-backports', ...fromBackports])
for (const args of steps) {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env })
  if (result.status !== 0) {
    console.error(`apt-get ${args[0]} failed; ${hint}`)
    process.exit(1)
  }
}
const stillMissing = missing.filter((need) => !need.present())
if (stillMissing.length > 0) {
  console.error(`${stillMissing.map((need) => need.what).join(' and ')} still missing after apt-get install`)
  process.exit(1)
}

/** Debian puts each major version's server under /usr/lib/postgresql/<major>/bin. */
function postgresInstalled() {
  try {
    return readdirSync('/usr/lib/postgresql').some((major) => executable(join('/usr/lib/postgresql', major, 'bin', 'initdb')))
  } catch {
    return false
  }
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function succeeds(command, args) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0
}

function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, name)))
}
