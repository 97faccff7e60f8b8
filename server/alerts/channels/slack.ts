/**
 * Slack incoming webhooks take `{ text, blocks }`: `text` is the fallback shown in notifications,
 * `blocks` the formatted message. Slack reads `& < >` as markup and `_ * ~ \`` as formatting, so
 * every name is escaped (an agent named `_x_` must not turn the text italic).
 *
 * Slack has no escape for its formatting characters. Each one is written as the fallback of a
 * date token whose format is invalid, which Slack always shows as the plain character:
 * `<!date^00000000^{_}|_>`. That makes a name up to 24 times longer, and a section holds at most
 * 3,000 characters: a grouped message names only as many targets as fit, and a text that still
 * does not fit goes out as plain text.
 */
import { isGrouped, summarize, summarizeGroup, GROUP_NAMES_SHOWN, type ChannelMessage, type GroupedAlertMessage } from './message.js'

/** Slack refuses a section text longer than this */
const SECTION_LIMIT = 3_000
/** room kept for the names of a grouped summary; the rest of the line is short */
const NAMES_BUDGET = 2_000

export function slackPayload(message: ChannelMessage) {
  const plain = isGrouped(message) ? summarizeGroup(message, namesThatFit(message)) : summarize(message)
  const text = escapeSlack(plain)
  const icon = message.kind === 'resolved' ? ':white_check_mark:' : ':rotating_light:'
  const formatted = `${icon} *${text}*`
  const section = formatted.length <= SECTION_LIMIT ? { type: 'mrkdwn', text: formatted } : { type: 'plain_text', text: plain.slice(0, SECTION_LIMIT), emoji: false }
  return {
    text,
    blocks: [
      { type: 'section', text: section },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context(message) }] },
    ],
  }
}

function context(message: ChannelMessage): string {
  const rule = `rule ${escapeSlack(message.rule)}`
  if (isGrouped(message)) {
    const services = [...new Set(message.targets.map((target) => target.service))]
    const listed = services
      .slice(0, 5)
      .map((service) => `*${escapeSlack(service)}*`)
      .join(', ')
    return `${services.length === 1 ? 'service' : 'services'} ${listed}${services.length > 5 ? ', …' : ''} · ${rule}`
  }
  const since = message.kind === 'firing' ? '' : ` · firing since <!date^${Math.floor(message.firedAt / 1000)}^{date_short_pretty} {time}|${new Date(message.firedAt).toISOString()}>`
  return `service *${escapeSlack(message.service)}* · ${rule}${since}`
}

/** How many of a group's names fit the budget once escaped (0 when not even the first does). */
function namesThatFit(message: GroupedAlertMessage): number {
  let used = 0
  let shown = 0
  for (const target of message.targets.slice(0, GROUP_NAMES_SHOWN)) {
    used += escapeSlack(target.target).length + 2
    if (used > NAMES_BUDGET) break
    shown++
  }
  return shown
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }

export function escapeSlack(text: string): string {
  return text.replace(/[&<>_*~`]/g, (char) => ENTITIES[char] ?? `<!date^00000000^{_}|${char}>`)
}
