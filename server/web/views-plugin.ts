/**
 * Eta templates from views/ and static files from public/. Eta escapes `<%= %>` output; raw output
 * (`<%~ %>`) is kept for the layout body and includes, which are HTML the server built itself.
 */
import fp from 'fastify-plugin'
import fastifyView from '@fastify/view'
import fastifyStatic from '@fastify/static'
import { Eta } from 'eta'
import { PUBLIC_DIR, VIEWS_DIR } from '../paths.js'
import { vendoredAssets } from '../vendored-assets.js'
import { createNavCounts } from './nav-counts.js'

export default fp(
  async (app) => {
    const navCounts = createNavCounts()
    app.decorate('navCounts', navCounts)
    await app.register(fastifyView, {
      engine: { eta: new Eta({ views: VIEWS_DIR, cache: true }) },
      templates: VIEWS_DIR,
      // compiled templates are cached unless developing: recompiling each include per card cost
      // several times the render itself
      production: process.env.NODE_ENV !== 'development',
      viewExt: 'eta',
      // @fastify/view copies this object into every render's data (Object.assign), which runs the
      // getter: each render gets the counts of that moment
      defaultContext: {
        assets: { ...vendoredAssets().urls, css: '/assets/app.css' },
        get navCounts() {
          return navCounts.read()
        },
      },
    })
    await app.register(fastifyStatic, {
      root: PUBLIC_DIR,
      prefix: '/assets/',
      // vendored files carry their version in their name, so they may be cached
      maxAge: '1h',
    })
  },
  { name: 'zenith-views' },
)
