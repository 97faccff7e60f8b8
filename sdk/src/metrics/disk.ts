import { statfs } from 'node:fs/promises'

/** Free and total bytes of the filesystem holding `path`; undefined where statfs is unavailable. */
export async function readDisk(path: string): Promise<{ path: string; total: number; free: number } | undefined> {
  try {
    const stats = await statfs(path)
    return { path, total: stats.blocks * stats.bsize, free: stats.bavail * stats.bsize }
  } catch {
    return undefined
  }
}
