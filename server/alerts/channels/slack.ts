/**
 * Slack incoming webhooks take `{ text, blocks }`: `text` is the fallback shown in notifications,
 * `blocks` the formatted message. Slack reads `& < >` as markup, so every value is escaped.
 */
import { summarize, type AlertMessage } from './message.js'

export function slackPayload(message: AlertMessage) {
  const text = escapeSlack(summarize(message))
  const icon = message.kind === 'resolved' ? ':white_check_mark:' : ':rotating_light:'
  const since = message.kind === 'firing' ? '' : ` · firing since <!date^${Math.floor(message.firedAt / 1000)}^{date_short_pretty} {time}|${new Date(message.firedAt).toISOString()}>`
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${text}*` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `service *${escapeSlack(message.service)}* · rule \`${escapeSlack(message.rule)}\`${since}` }],
      },
    ],
  }
}

export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
