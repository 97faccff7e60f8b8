import t from 'tap'
import { openPostgresStore } from '../../server/archive/postgres-store.js'
import { usePostgres } from '../helpers/postgres-server.js'
import { runArchiveStoreContract } from './store-contract.js'

// its own file and server: the contract alone is most of a minute on a busy machine
const server = await usePostgres(t)

t.test('the ArchiveStore contract on PostgreSQL', async (t) => {
  runArchiveStoreContract(t, async () => openPostgresStore(await server.createDatabase()))
})
