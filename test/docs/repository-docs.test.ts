/**
 * ARCHITECTURE.md and CONTRIBUTING.md name files, folders and npm scripts; code moves, and a guide
 * that sends the reader to a file that is gone is worse than none. Every repository path written
 * in backticks (or in a shell example) must exist, a `<placeholder>` segment standing for any
 * entry of its folder; every `npm run <script>` must be a script of package.json; every
 * relative link of these two documents and the README must resolve; and every `.md` document a
 * source file or template cites must be in the repository, since a reader cannot follow the rest.
 */
import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const GUIDES = ['ARCHITECTURE.md', 'CONTRIBUTING.md']
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts)
// build outputs (`dist/`, `sdk/dist/`, `public/vendor/`) are absent from a fresh clone until `npm run build`
const ignoredDirs = read('.gitignore')
  .split('\n')
  .filter((line) => /^[\w./-]+\/$/.test(line))
  .map((line) => line.slice(0, -1))

const FENCE = /^```(\w*)\n([\s\S]*?)^```/gm
const FILE_NAME = /\.(ts|mjs|js|json|md|eta|ya?ml|png|css|sh)$/

/** Backticked spans outside fenced blocks, and the words of shell examples, that name a repository path. */
function repositoryPaths(markdown: string): string[] {
  const shellWords = [...markdown.matchAll(FENCE)].filter(([, lang]) => lang === 'sh').flatMap(([, , body]) => body!.split(/\s+/))
  // a span may hold a command (`node scripts/unit-tests.mjs --list`): each of its words is looked at
  const spanWords = [...markdown.replace(FENCE, '').matchAll(/`([^`\n]+)`/g)].flatMap(([, span]) => span!.split(/\s+/))
  const candidates = [...spanWords, ...shellWords.filter((word) => word.includes('/'))]
  // not paths: URLs and routes (`/pulse`), package names (`@gravito/…`), key patterns, code, flags
  const looksLikePath = (text: string) => !/^[/@~-]|[\s:{}*=(),#$'"]/.test(text) && (text.includes('/') || FILE_NAME.test(text))
  return [...new Set(candidates.filter(looksLikePath))]
}

/** Whether a path exists, each `<placeholder>` segment matching any entry of the folder before it. */
function pathExists(path: string, root = ROOT): boolean {
  const segments = path.replace(/\/$/, '').split('/')
  const walk = (dir: string, rest: string[]): boolean => {
    if (rest.length === 0) return true
    const [segment, ...tail] = rest as [string, ...string[]]
    if (!/^<[\w-]+>$/.test(segment)) return existsSync(join(dir, segment)) && walk(join(dir, segment), tail)
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return false
    return readdirSync(dir).some((entry) => walk(join(dir, entry), tail))
  }
  return walk(root, segments)
}

const isBuildOutput = (path: string) => ignoredDirs.some((dir) => path === dir || path.startsWith(`${dir}/`))

function npmScripts(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/\bnpm run ([\w:-]+)/g)].map(([, script]) => script!))]
}

/** Relative link targets, without their `#anchor`. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.replace(FENCE, '').matchAll(/\]\(([^)\s]+)\)/g)]
    .map(([, target]) => target!)
    .filter((target) => !/^([a-z]+:|#)/.test(target))
    .map((target) => target.replace(/#.*$/, ''))
}

for (const guide of GUIDES) {
  t.test(`${guide}: every repository path it names exists`, async (t) => {
    const paths = repositoryPaths(read(guide))
    // a pattern that stopped matching would find nothing and pass: the guides name dozens of paths
    t.ok(paths.length >= 15, `found ${paths.length} paths`)
    t.same(
      paths.filter((path) => !pathExists(path) && !isBuildOutput(path)),
      [],
      'missing paths',
    )
  })

  t.test(`${guide}: every npm script it names is in package.json`, async (t) => {
    const named = npmScripts(read(guide))
    t.same(
      named.filter((script) => !scripts.includes(script)),
      [],
      'unknown scripts',
    )
  })
}

t.test('the guides together name the scripts a contributor runs', async (t) => {
  const named = new Set(GUIDES.flatMap((guide) => npmScripts(read(guide))))
  for (const script of ['dev', 'typecheck', 'lint', 'format', 'test:unit']) t.ok(named.has(script), script)
})

for (const doc of ['README.md', ...GUIDES]) {
  t.test(`${doc}: every relative link resolves`, async (t) => {
    const links = relativeLinks(read(doc))
    t.ok(links.length > 0, `found ${links.length} links`)
    t.same(
      links.filter((link) => !existsSync(join(ROOT, link))),
      [],
      'broken links',
    )
  })
}

t.test("the README's More section links both guides", async (t) => {
  const readme = read('README.md')
  const more = readme.slice(readme.indexOf('## More'))
  t.same(
    relativeLinks(more)
      .filter((link) => GUIDES.includes(link))
      .sort(),
    [...GUIDES].sort(),
  )
})

t.test('every document a source file cites is in the repository', async (t) => {
  const sourceFiles = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`
      if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path)
      return /\.(ts|mjs|js|eta)$/.test(entry.name) ? [path] : []
    })
  const self = 'test/docs/repository-docs.test.ts'
  const files = ['server', 'sdk/src', 'sdk/test', 'test', 'scripts', 'bench', 'views'].flatMap(sourceFiles).filter((file) => file !== self)
  const cited = files.flatMap((file) =>
    [...read(file).matchAll(/(?<![\w/.-])((?:\.\.?\/)*[\w./-]*\w\.md)\b/g)].map(([, name]) => ({ file, name: name!, path: name!.startsWith('.') ? join(dirname(file), name!) : name! })),
  )
  t.ok(cited.length >= 20, `found ${cited.length} citations`)
  t.same(
    cited.filter(({ path }) => !existsSync(join(ROOT, path))).map(({ file, name }) => `${file}: ${name}`),
    [],
    'documents cited but not in the repository',
  )
})

t.test('the checks catch what they are for', async (t) => {
  const doc = [
    'See `server/app.ts`, `server/<area>/plugin.ts`, `server/nope.ts`, `server/<area>/nope.ts` and `node scripts/nope.mjs --list`.',
    'Not paths: `/pulse`, `@gravito/quasar/layouts`, `{prefix}:{queue}:meta`, `app.collector.refresh()`.',
    '```sh\nnpx tap test/nope.test.ts\nnpm run dev && npm run nope\n```',
    '[ok](PROTOCOL.md#keys) [gone](GONE.md) [web](https://example.com)',
  ].join('\n')
  const paths = repositoryPaths(doc)
  t.same(paths.sort(), ['scripts/nope.mjs', 'server/<area>/nope.ts', 'server/<area>/plugin.ts', 'server/app.ts', 'server/nope.ts', 'test/nope.test.ts'])
  t.same(
    paths.filter((path) => !pathExists(path)),
    ['scripts/nope.mjs', 'server/<area>/nope.ts', 'server/nope.ts', 'test/nope.test.ts'],
  )
  t.same(npmScripts(doc), ['dev', 'nope'])
  t.same(relativeLinks(doc), ['PROTOCOL.md', 'GONE.md'])
  t.ok(isBuildOutput('sdk/dist') && isBuildOutput('public/vendor/htmx.js') && !isBuildOutput('server/app.ts'))
})
