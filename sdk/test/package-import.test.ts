import t from 'tap'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

t.test('the built package imports in plain Node from the repository root', async (t) => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('@gravito/quasar'); console.log(typeof m.startPulse, typeof m.QuasarAgent, typeof m.createKeys)"], {
    cwd: root,
  }).toString()
  t.equal(out.trim(), 'function function function')
})
