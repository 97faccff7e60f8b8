/**
 * What the node page (`/pulse/{service}/{nodeId}`) and its details fragment show, from the
 * snapshot. Pure functions: no request, no Redis.
 */
import { nodeUrl } from '../http/urls.js'
import type { Snapshot } from '../collector/snapshot.js'
import { RANGE_PLAN, type Range } from '../history/metrics.js'
import { nodeChartDataUrl, rangeLinks, type RangeLink } from '../history/service.js'
import { toNodeView, type NodeView } from './service.js'

export interface NodePageView {
  service: string
  nodeId: string
  /** null when the node is no longer in the snapshot (only its history is left) */
  node: NodeView | null
  generatedAt: number
  range: Range
  rangeLabel: string
  ranges: RangeLink[]
  chartUrl: string
  detailsUrl: string
}

export function findNode(snapshot: Snapshot, service: string, nodeId: string): NodeView | null {
  const record = snapshot.nodes.find((node) => node.service === service && node.nodeId === nodeId)
  return record ? toNodeView(record, snapshot.generatedAt) : null
}

export function buildNodePage(snapshot: Snapshot, service: string, nodeId: string, range: Range): NodePageView {
  const path = nodeUrl(service, nodeId)
  return {
    service,
    nodeId,
    node: findNode(snapshot, service, nodeId),
    generatedAt: snapshot.generatedAt,
    range,
    rangeLabel: RANGE_PLAN[range].label,
    ranges: rangeLinks(path, range),
    chartUrl: nodeChartDataUrl(service, nodeId, range),
    detailsUrl: `${path}/fragments/details`,
  }
}
