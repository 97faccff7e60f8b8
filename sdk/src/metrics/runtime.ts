import { hostname as osHostname } from 'node:os'

type Language = 'node' | 'bun' | 'deno'

/** Bun and Deno both run Node code and set process.versions.node, so check them first. */
export function detectRuntime(): { language: Language; version: string } {
  const global = globalThis as { Bun?: { version?: string }; Deno?: { version?: { deno?: string } } }
  if (global.Bun) return { language: 'bun', version: String(global.Bun.version ?? process.versions.bun ?? 'unknown') }
  if (global.Deno) return { language: 'deno', version: String(global.Deno.version?.deno ?? 'unknown') }
  return { language: 'node', version: process.versions.node }
}

export function safeHostname(): string {
  try {
    return osHostname()
  } catch {
    return 'unknown'
  }
}
