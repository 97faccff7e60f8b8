/**
 * In development the console and the tests load the SDK from `sdk/src` (the `quasar-source`
 * export condition, set by the tap config and `npm run dev`), so an SDK edit is seen without a
 * rebuild. A stale `sdk/dist` would otherwise pass or fail tests for code that no longer exists.
 */
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import * as viaPackage from '@gravito/quasar'
import * as viaProtocol from '@gravito/quasar/protocol'
import * as viaSource from '../../sdk/src/index.js'
import * as viaProtocolSource from '../../sdk/src/protocol/index.js'
import { ROOT_DIR } from '../../server/paths.js'

t.test('the package name resolves to the SDK source, not its build', async (t) => {
  t.equal(fileURLToPath(import.meta.resolve('@gravito/quasar')), join(ROOT_DIR, 'sdk/src/index.ts'))
  t.equal(fileURLToPath(import.meta.resolve('@gravito/quasar/protocol')), join(ROOT_DIR, 'sdk/src/protocol/index.ts'))
  t.equal(fileURLToPath(import.meta.resolve('@gravito/quasar/layouts')), join(ROOT_DIR, 'sdk/src/layouts/index.ts'))
})

t.test('one copy of the SDK: the package and the source are the same modules', async (t) => {
  t.type(viaSource.startPulse, 'function')
  t.type(viaProtocolSource.createKeys, 'function')
  t.equal(viaPackage.startPulse, viaSource.startPulse)
  t.equal(viaProtocol.createKeys, viaProtocolSource.createKeys)
})
