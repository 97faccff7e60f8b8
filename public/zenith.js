// Loaded after htmx on every page (script-src 'self': no inline script anywhere).
//
// htmx 4 dropped the allowEval and allowScriptTags settings, so this extension enforces both:
// htmx's eval paths (hx-on, js: values, hx-confirm js:) get constructors that refuse, and
// <script> elements are removed from content before it is swapped in. Neither is used by the
// console; both would only ever run something an attacker managed to put into a response.
// It also shows the "console not answering" notice while polls fail, so a stale page says so.
//
// Times: the server renders every absolute time as UTC text (`<time datetime="ISO">… UTC</time>`,
// which is what a page without JavaScript shows). This file rewrites each of them to the viewer's
// local time, keeping the UTC time as the title (hover), on load and after every htmx swap.
// charts.js formats its axes and legends with the same `zenithTime`, so a table and a chart
// agree on the zone and on 24 h against am/pm (both follow the browser's locale).
;(function () {
  'use strict'

  var formats = {}
  function formatter(key, options) {
    if (!formats[key]) formats[key] = new Intl.DateTimeFormat(undefined, options)
    return formats[key]
  }
  var CLOCK = { hour: '2-digit', minute: '2-digit', second: '2-digit' }
  var CLOCK_SHORT = { hour: '2-digit', minute: '2-digit' }
  var DAY = { year: 'numeric', month: '2-digit', day: '2-digit' }

  function sameLocalDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  }

  // "14:05:10" (or "02:05:10 PM", as the locale says); another day than today also gets its date
  function formatTime(ms, options) {
    var date = new Date(ms)
    if (isNaN(date.getTime())) return ''
    var short = options && options.seconds === false
    var withDate = options && options.date !== undefined ? options.date : !sameLocalDay(date, new Date())
    var clock = short ? CLOCK_SHORT : CLOCK
    if (!withDate) return formatter(short ? 'short' : 'clock', clock).format(date)
    return formatter(short ? 'date-short' : 'date-clock', Object.assign({}, DAY, clock)).format(date)
  }

  function utcText(date) {
    var iso = date.toISOString()
    return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + ' UTC'
  }

  // only times rendered as UTC text: relative ones ("3 min ago") keep their words
  function localiseTimes(root) {
    if (!root || typeof root.querySelectorAll !== 'function') return
    var times = root.querySelectorAll('time[datetime]')
    for (var i = 0; i < times.length; i++) {
      var el = times[i]
      if (!/ UTC$/.test(el.textContent || '')) continue
      var date = new Date(el.getAttribute('datetime'))
      if (isNaN(date.getTime())) continue
      if (!el.title) el.title = utcText(date)
      el.textContent = formatTime(date.getTime())
    }
  }

  window.zenithTime = { format: formatTime, localise: localiseTimes }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () {
      localiseTimes(document)
    })
  } else localiseTimes(document)

  if (!window.htmx) return

  function refuse() {
    throw new Error('zenith: evaluating code from attributes is disabled')
  }

  function stripScripts(node) {
    if (!node || typeof node.querySelectorAll !== 'function') return
    var scripts = node.querySelectorAll('script')
    for (var i = 0; i < scripts.length; i++) scripts[i].remove()
  }

  var failures = 0
  function setOffline(offline) {
    var notice = document.getElementById('console-offline')
    if (notice) notice.hidden = !offline
  }

  htmx.registerExtension('zenith', {
    init: function (api) {
      api.initSecurity(null, refuse, refuse)
    },
    htmx_before_swap: function (_elt, detail) {
      var tasks = (detail && detail.tasks) || []
      for (var i = 0; i < tasks.length; i++) stripScripts(tasks[i].fragment)
    },
    htmx_after_swap: function () {
      // a poll morphs the server's UTC text back in; the whole document is cheap to walk
      localiseTimes(document)
    },
    htmx_after_request: function (_elt, detail) {
      var status = detail && detail.ctx && detail.ctx.response ? detail.ctx.response.status : 0
      if (status >= 500) failures++
      else failures = 0
      setOffline(failures > 0)
    },
    htmx_error: function (_elt, detail) {
      // an aborted request (the element was swapped away) is not an outage
      if (detail && detail.error && detail.error.name === 'AbortError') return
      failures++
      setOffline(true)
    },
  })
})()
