// History charts (script-src 'self': no inline script anywhere).
//
// Every element with data-chart-url gets the charts of its data-chart-kind ("node" or "queue"),
// drawn with uPlot from the JSON the URL answers ({ bucketMs, points: [{ t, <metric>… }] }).
// Hovering a chart shows the values under the cursor in its legend. Colours follow the page's
// theme: axes take the text colour, grid lines the border colour, strokes a palette readable on
// light and dark backgrounds.
;(function () {
  'use strict'
  if (typeof window.uPlot !== 'function') return

  var PALETTE = ['#60a5fa', '#f59e0b', '#34d399', '#f472b6', '#a78bfa']
  var HEIGHT = 180
  // tick steps for byte axes: powers of two, so ticks read 64 MiB, 128 MiB rather than 47.7 MiB
  var BINARY_STEPS = []
  for (var power = 0; power < 53; power++) BINARY_STEPS.push(Math.pow(2, power))

  var LAYOUTS = {
    node: [
      {
        title: 'CPU',
        unit: 'percent',
        series: [
          ['cpuSystem', 'System'],
          ['cpuProcess', 'Process'],
        ],
      },
      { title: 'Memory used', unit: 'percent', series: [['memoryUsedPct', 'System']] },
      { title: 'Process RSS', unit: 'bytes', series: [['rss', 'RSS']] },
      { title: 'Event-loop lag', unit: 'ms', series: [['lagMs', 'Lag']] },
    ],
    queue: [
      {
        title: 'Depth',
        unit: 'count',
        series: [
          ['waiting', 'Waiting'],
          ['failed', 'Failed'],
        ],
      },
      { title: 'Throughput', unit: 'rate', series: [['throughput', 'Jobs / s']] },
    ],
  }

  var FORMATS = {
    percent: function (v) {
      return v.toFixed(1) + ' %'
    },
    bytes: function (v) {
      var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
      var i = 0
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024
        i++
      }
      return (i === 0 || v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i]
    },
    ms: function (v) {
      return (v >= 100 ? v.toFixed(0) : v.toFixed(2)) + ' ms'
    },
    count: function (v) {
      return Math.round(v).toLocaleString('en-US')
    },
    rate: function (v) {
      return v >= 100 ? v.toFixed(0) : v.toFixed(2)
    },
  }

  function legendValue(format) {
    return function (_u, v) {
      return v == null || !isFinite(v) ? '–' : format(v)
    }
  }

  function axisValues(format) {
    return function (_u, splits) {
      return splits.map(function (v) {
        return v == null ? '' : format(v)
      })
    }
  }

  // uPlot wants seconds and one column per series; a missing bucket (the node was down) becomes a
  // null so the line breaks instead of bridging the gap
  function columns(points, keys, bucketMs) {
    var xs = []
    var ys = keys.map(function () {
      return []
    })
    var previous = null
    for (var i = 0; i < points.length; i++) {
      var p = points[i]
      if (typeof p.t !== 'number') continue
      if (previous !== null && bucketMs > 0 && p.t - previous > bucketMs * 1.5) {
        xs.push((previous + bucketMs) / 1000)
        for (var g = 0; g < keys.length; g++) ys[g].push(null)
      }
      xs.push(p.t / 1000)
      for (var k = 0; k < keys.length; k++) {
        var v = p[keys[k]]
        ys[k].push(typeof v === 'number' && isFinite(v) ? v : null)
      }
      previous = p.t
    }
    return [xs].concat(ys)
  }

  // times as the tables show them (public/zenith.js), or the browser's own if it did not load
  function formatTime(ms, options) {
    if (window.zenithTime) return window.zenithTime.format(ms, options)
    return new Date(ms).toLocaleString()
  }

  // x axis ticks: hours and minutes within a day; the date too once the ticks are a day or more apart
  function timeAxisValues(_u, splits, _axis, _space, increment) {
    var days = increment >= 86400
    return splits.map(function (s) {
      return s == null ? '' : formatTime(s * 1000, { seconds: false, date: days })
    })
  }

  function xLabels(plot) {
    var axis = plot.axes && plot.axes[0]
    return axis && Array.isArray(axis._values) ? axis._values.join(' | ') : ''
  }

  function themeColours(el) {
    var style = getComputedStyle(el)
    return {
      text: style.color || '#888',
      grid: style.getPropertyValue('--border').trim() || 'rgba(128,128,128,0.25)',
    }
  }

  function options(chart, width, colours, syncKey) {
    var format = FORMATS[chart.unit]
    var series = [
      {
        value: function (_u, s) {
          return s == null ? '–' : formatTime(s * 1000)
        },
      },
    ]
    chart.series.forEach(function (s, i) {
      series.push({ label: s[1], stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { show: false }, value: legendValue(format) })
    })
    var axis = { stroke: colours.text, grid: { stroke: colours.grid, width: 1 }, ticks: { stroke: colours.grid, width: 1 } }
    return {
      width: width,
      height: HEIGHT,
      series: series,
      scales: {
        x: { time: true },
        y:
          chart.unit === 'percent'
            ? { range: [0, 100] }
            : {
                range: function (_u, min, max) {
                  return [0, max > 0 ? max * 1.1 : 1]
                },
              },
      },
      axes: [Object.assign({}, axis, { values: timeAxisValues }), Object.assign({}, axis, { size: 78, values: axisValues(format) }, chart.unit === 'bytes' ? { incrs: BINARY_STEPS } : {})],
      legend: { live: true },
      // the x axis labels as drawn (uPlot paints them on a canvas), for anyone reading the page's DOM
      hooks: {
        draw: [
          function (u) {
            var figure = u.root.closest('figure')
            if (figure) figure.setAttribute('data-x-labels', xLabels(u))
          },
        ],
      },
      // one cursor across the block's charts: hovering one shows every chart's values at that time
      cursor: { drag: { x: false, y: false }, sync: { key: syncKey } },
    }
  }

  function mount(container) {
    var layout = LAYOUTS[container.getAttribute('data-chart-kind')]
    var url = container.getAttribute('data-chart-url')
    var status = container.querySelector('[data-chart-status]')
    if (!layout || !url) return
    var plots = []
    var syncKey = 'charts-' + Math.random().toString(36).slice(2)

    function say(text) {
      if (status) {
        status.textContent = text
        status.hidden = text === ''
      }
    }

    function draw(body) {
      var points = Array.isArray(body && body.points) ? body.points : []
      var bucketMs = body && typeof body.bucketMs === 'number' ? body.bucketMs : 0
      say(points.length === 0 ? 'No samples in this range yet.' : '')
      var colours = themeColours(container)
      layout.forEach(function (chart, i) {
        var data = columns(
          points,
          chart.series.map(function (s) {
            return s[0]
          }),
          bucketMs,
        )
        if (plots[i]) {
          plots[i].plot.setData(data)
          return
        }
        var figure = document.createElement('figure')
        figure.className = 'chart'
        var caption = document.createElement('figcaption')
        caption.className = 'chart-title'
        caption.textContent = chart.title
        var target = document.createElement('div')
        target.className = 'chart-plot'
        figure.appendChild(caption)
        figure.appendChild(target)
        container.appendChild(figure)
        var plot = new window.uPlot(options(chart, target.clientWidth || 600, colours, syncKey), data, target)
        plots[i] = { plot: plot, target: target }
      })
    }

    function load() {
      return fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (response) {
          if (response.status === 401) throw new Error('signed out: reload the page to log in')
          if (!response.ok) throw new Error('HTTP ' + response.status)
          return response.json()
        })
        .then(draw)
        .catch(function (error) {
          say('Could not load the history (' + error.message + ').')
        })
    }

    load()

    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(function () {
        plots.forEach(function (p) {
          var width = p.target.clientWidth
          if (width > 0 && width !== p.plot.width) p.plot.setSize({ width: width, height: HEIGHT })
        })
      }).observe(container)
    }

    var every = Number(container.getAttribute('data-chart-refresh'))
    if (every > 0) {
      setInterval(function () {
        if (!document.hidden) load()
      }, every * 1000)
    }
  }

  function start() {
    var containers = document.querySelectorAll('[data-chart-url]')
    for (var i = 0; i < containers.length; i++) mount(containers[i])
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
