/** How long until() waits, and how often it asks again. */
export interface UntilOptions {
  /** Default 30 s. */
  timeoutMs?: number
  /** Default 100 ms. */
  everyMs?: number
}

/**
 * Asks `probe` again and again until it answers something (not undefined) and returns that answer; after
 * `timeoutMs` it fails with "timed out waiting for <what>". For what a real subprocess, chain or agent
 * does in its own time.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: UntilOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, options.everyMs ?? 100))
  }
}
