/**
 * Security headers on every answer. The CSP allows only the console's own scripts, styles and
 * requests: agent data is escaped when rendered, and this is the second wall if an escape is ever
 * missed. Pages hold no inline script or style attribute, and htmx is set up (views/layout.eta,
 * public/zenith.js) to never evaluate code or run scripts from a swapped response.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

const DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
}

/** The header value, as helmet serialises it (tests compare against it). */
export const CONTENT_SECURITY_POLICY = Object.entries(DIRECTIVES)
  .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(' ')}`)
  .join(';')

async function securityHeaders(app: FastifyInstance) {
  await app.register(helmet, {
    // no defaults: helmet's include upgrade-insecure-requests, which breaks a console served over
    // plain http on a private network
    contentSecurityPolicy: { useDefaults: false, directives: DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    // HSTS only means something over https, where a reverse proxy terminates TLS and knows the
    // right max-age; sent over plain http it is ignored anyway
    strictTransportSecurity: false,
  })
}

export default fp(securityHeaders, { name: 'zenith-security-headers' })
