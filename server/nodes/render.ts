/**
 * The pulse views rendered for gzip clients without a string of the whole body. With 10,000 nodes
 * the nodes region is 4.5 million characters and the nodes JSON 5 MB: built whole, each render
 * leaves that string, its pieces and a UTF-8 copy of it as garbage, and the console's memory is
 * mostly room for that garbage. Here a body goes to the compressor a service group at a time, and
 * the /pulse page is its shell (a few KB) around the nodes region's cached piece (gzip-pieces.ts).
 *
 * The markup is the templates' own, byte for byte: the page and the nodes region leave a slot
 * where the region, or its groups, would be; the shell is split there and the groups are rendered
 * by the same template the region includes. The slot is a comment with a random name, so no agent
 * data can forge it.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createPieceWriter, deflateText, gzipOf, type DeflatedPiece } from '../web/gzip-pieces.js'
import type { RenderedFragment } from '../web/fragment-cache.js'
import { toNodeApi, type PulseView } from './service.js'

// letters, digits and dashes only: the template writes it escaped, so it reaches the HTML unchanged
const SLOT = `zenith-slot-${randomUUID()}`

/** What views/nodes/nodes.eta reads (its includes read the same). */
export interface NodesData {
  view: PulseView
  [name: string]: unknown
}

/** The nodes region (views/nodes/nodes.eta), compressed a service group at a time. */
export async function renderNodesPiece(app: FastifyInstance, data: NodesData): Promise<DeflatedPiece> {
  const [before, after] = splitAtSlot(await app.view('nodes/nodes', { ...data, groupsSlot: SLOT }))
  const writer = createPieceWriter()
  await writer.write(before)
  // include() hands a partial its parent's data plus its own: the same data here
  for (const group of data.view.services) await writer.write(await app.view('nodes/service-group', { ...data, group }))
  await writer.write(after)
  return writer.end()
}

/**
 * The /pulse page gzipped: its shell (layout, filter) rendered around a slot, with the nodes
 * region's cached piece in it. Costs a render of the shell, not of the nodes.
 */
export async function gzipPulsePage(app: FastifyInstance, pageData: object, nodes: RenderedFragment): Promise<Buffer> {
  const [before, after] = splitAtSlot(await app.view('nodes/page', { ...pageData, nodesSlot: SLOT }, { layout: 'layout' }))
  return gzipOf(await Promise.all([deflateText(before), nodes.piece(), deflateText(after)]))
}

/**
 * `JSON.stringify(toNodesApi(view))`, the same bytes, compressed a service group at a time: no
 * 5 MB string, and only one group's API objects at a time.
 */
export async function nodesApiPiece(view: PulseView): Promise<DeflatedPiece> {
  const writer = createPieceWriter()
  await writer.write(`{"generatedAt":${JSON.stringify(view.generatedAt)},"services":[`)
  for (const [i, group] of view.services.entries()) {
    const nodes = group.nodes.map((node) => JSON.stringify(toNodeApi(node))).join(',')
    await writer.write(`${i === 0 ? '' : ','}{"name":${JSON.stringify(group.name)},"nodes":[${nodes}]}`)
  }
  await writer.write(']}')
  return writer.end()
}

function splitAtSlot(html: string): [string, string] {
  const at = html.indexOf(SLOT)
  // the templates always place the slot when given one; this guards a template edited without it
  if (at < 0 || html.indexOf(SLOT, at + 1) >= 0) throw new Error('template rendered without exactly one slot')
  return [html.slice(0, at), html.slice(at + SLOT.length)]
}
