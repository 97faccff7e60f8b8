/** Cuts a string to `max` characters, marking the cut; never splits a surrogate pair. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value
  let end = max - 1
  const code = value.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${value.slice(0, end)}…`
}
