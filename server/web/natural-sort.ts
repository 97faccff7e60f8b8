/**
 * Natural order for names people read: `api-2` before `api-10`, `node-9` before `node-10`. Runs of
 * digits compare as numbers, everything else character by character, case-insensitively first.
 * Total and deterministic (no locale): two different strings never compare equal, so a list keeps
 * its order from one poll to the next. Walks both strings in place, with no allocation: a fleet
 * of 20,000 nodes is sorted with about 300,000 comparisons per snapshot.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i)
    const cb = b.charCodeAt(j)
    if (isDigit(ca) && isDigit(cb)) {
      // skip leading zeros, then the longer run of digits is the larger number
      let si = i
      let sj = j
      while (si < a.length && a.charCodeAt(si) === 48) si++
      while (sj < b.length && b.charCodeAt(sj) === 48) sj++
      let ei = si
      let ej = sj
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++
      if (ei - si !== ej - sj) return ei - si - (ej - sj)
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k)
        if (d !== 0) return d
      }
      i = ei
      j = ej
      continue
    }
    const la = lower(ca)
    const lb = lower(cb)
    if (la !== lb) return la - lb
    i++
    j++
  }
  if (a.length - i !== b.length - j) return a.length - i - (b.length - j)
  // equal but for case or leading zeros: plain code-unit order keeps the result total
  return a < b ? -1 : a > b ? 1 : 0
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

function lower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code
}
