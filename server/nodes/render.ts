/**
 * The pulse answers built for gzip clients without a string of the whole body. The nodes JSON of
 * 10,000 nodes is 5 MB: built whole, each render leaves that string, its pieces and a UTF-8 copy
 * of it as garbage. Here it goes to the compressor a service group at a time. The /pulse page is
 * its shell (a few KB) around the nodes region's cached piece (gzip-pieces.ts); the region itself
 * is one page of the fleet (server/nodes/fleet.ts), small enough to render as one string.
 *
 * The page's markup is the templates' own, byte for byte: the page leaves a slot where the region
 * would be, and the shell is split there. The slot is a comment with a random name, so no agent
 * data can forge it.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createPieceWriter, deflateText, gzipOf, type DeflatedPiece } from '../web/gzip-pieces.js'
import type { RenderedFragment } from '../web/fragment-cache.js'
import { toNodeApi, type PulseView } from './service.js'

// letters, digits and dashes only: the template writes it escaped, so it reaches the HTML unchanged
const SLOT = `zenith-slot-${randomUUID()}`

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
