// Loaded after htmx on every page (script-src 'self': no inline script anywhere).
//
// htmx 4 dropped the allowEval and allowScriptTags settings, so this extension enforces both:
// htmx's eval paths (hx-on, js: values, hx-confirm js:) get constructors that refuse, and
// <script> elements are removed from content before it is swapped in. Neither is used by the
// console; both would only ever run something an attacker managed to put into a response.
// It also shows the "console not answering" notice while polls fail, so a stale page says so.
;(function () {
  'use strict'
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
