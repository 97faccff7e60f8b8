import t from 'tap'
import { Eta } from 'eta'
import { VIEWS_DIR } from '../../server/paths.js'
import { nodeSparklines, sparkline, type Sparkline, type SparklineOptions } from '../../server/history/sparkline.js'

// the real partial, as the node card includes it
const eta = new Eta({ views: VIEWS_DIR })
const draw = (line: Sparkline): string => eta.render('/history/sparkline', line)
const sparklineSvg = (values: readonly unknown[], options?: SparklineOptions): string => draw(sparkline(values, options))

/** Every attribute value of the SVG, and the text between tags: what could carry markup. */
function attributeValues(svg: string): string[] {
  return [...svg.matchAll(/="([^"]*)"/g)].map((match) => match[1]!)
}

function pointsOf(svg: string): [number, number][] {
  const points = /<polyline[^>]*points="([^"]*)"/.exec(svg)?.[1]
  return points ? points.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]) : []
}

t.test('a line through the values, scaled into the box', async (t) => {
  const svg = sparklineSvg([0, 50, 100], { width: 100, height: 20, min: 0, max: 100 })
  t.match(svg, /^<svg class="sparkline" viewBox="0 0 100 20" width="100" height="20"/)
  t.match(svg, /<\/svg>$/)
  const points = pointsOf(svg)
  t.equal(points.length, 3)
  t.same(
    points.map(([x]) => x),
    [1.5, 50, 98.5],
    'evenly spread across the width',
  )
  t.same(
    points.map(([, y]) => y),
    [18.5, 10, 1.5],
    'high values near the top',
  )
  t.match(svg, /<circle class="sparkline-last" cx="98.5" cy="1.5"/, 'the last value is marked')
})

t.test('numbers only: nothing from the values reaches the markup but formatted numbers', async (t) => {
  const svg = sparklineSvg([1, '<script>' as unknown as number, { toString: () => '"><b>' } as unknown as number, 3])
  t.notMatch(svg, /script|<b>/)
  t.equal(pointsOf(svg).length, 2, 'only the two numbers are drawn')
  for (const value of attributeValues(svg)) t.match(value, /^[\w .,:-]*$/, `attribute value "${value}" is plain`)
})

t.test('empty, NaN, Infinity and one point', async (t) => {
  for (const values of [[], [NaN], [Infinity, -Infinity], [NaN, NaN, NaN]]) {
    const svg = sparklineSvg(values)
    t.match(svg, /class="sparkline sparkline-empty"/, `${JSON.stringify(values.map(String))} draws the empty state`)
    t.notMatch(svg, /polyline|NaN|Infinity/)
    t.match(svg, /<line class="sparkline-none"/)
  }
  const one = sparklineSvg([42], { min: 0, max: 100, width: 50, height: 10 })
  const points = pointsOf(one)
  t.equal(points.length, 2, 'one value draws a level line')
  t.equal(points[0]![1], points[1]![1])
  t.notMatch(one, /NaN/)
  const mixed = sparklineSvg([NaN, 5, Infinity, 7])
  t.equal(pointsOf(mixed).length, 2)
  t.notMatch(mixed, /NaN|Infinity/)
})

t.test('flat series and values outside a fixed scale stay inside the box', async (t) => {
  const flat = pointsOf(sparklineSvg([3, 3, 3], { height: 24 }))
  t.ok(
    flat.every(([, y]) => y === 12),
    'a flat series sits in the middle',
  )
  const wild = pointsOf(sparklineSvg([-50, 1e308, 50], { min: 0, max: 100, height: 24 }))
  for (const [x, y] of wild) t.ok(y >= 0 && y <= 24 && x >= 0 && x <= 120, `(${x}, ${y}) is inside`)
  const reversed = pointsOf(sparklineSvg([0, 10], { min: 10, max: 0, height: 24 }))
  t.ok(reversed[1]![1] < reversed[0]![1], 'a min above max is read the right way round')
})

t.test('options are filtered: label escaped, classes and sizes checked', async (t) => {
  const svg = sparklineSvg([1, 2], { label: 'CPU "<5 min>" & more', className: 'ok-class bad"class <x> also_ok', width: -3, height: 1e9 })
  t.match(svg, 'aria-label="CPU &quot;&lt;5 min&gt;&quot; &amp; more"', 'the partial escapes the label')
  t.match(svg, 'class="sparkline ok-class also_ok"')
  t.match(svg, 'width="120" height="24"', 'unusable sizes fall back to the defaults')
  t.match(sparklineSvg([1, 2]), 'aria-hidden="true"', 'no label: hidden from assistive technology')
})

t.test('one SVG element on one line: the card places it inline', async (t) => {
  for (const values of [[], [1], [1, 2, 3]]) {
    const svg = sparklineSvg(values, { label: 'CPU' })
    t.notMatch(svg, /\n/, `${values.length} values: no line break`)
    t.equal(svg.match(/<svg /g)?.length, 1)
  }
})

t.test('node sparklines: CPU and memory on a 0..100 scale, lag on its own', async (t) => {
  const points = [10, 20, 30].map((cpu, i) => ({ t: i * 10_000, values: [cpu, 5, 50, 1e8, i === 1 ? null : 2] }))
  const lines = nodeSparklines(points)
  t.match(draw(lines.cpu), 'sparkline-cpu')
  t.equal(pointsOf(draw(lines.cpu)).length, 3)
  t.ok(pointsOf(draw(lines.memory)).every(([, y]) => y === pointsOf(draw(lines.memory))[0]![1]))
  t.equal(pointsOf(draw(lines.lag)).length, 2, 'a missing lag sample is left out')
  t.match(draw(nodeSparklines([]).cpu), 'sparkline-empty')
})
