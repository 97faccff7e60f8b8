/**
 * FNV-1a twice (two offsets), folded into 53 bits: exact as a JS number, cheap, and no text kept.
 * Two of 30,000 texts share a hash with a chance under 1 in 10 million; used where memory must
 * stay bounded whatever the length of agent-written keys (counting distinct keys, evicted problems).
 */
export function textHash(text: string): number {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    a = Math.imul(a ^ code, 0x01000193)
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15)
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff)
}
