/** How long until() waits, and how often it asks again. */
export interface UntilOptions {
  /** Default 30 s. */
  timeoutMs?: number
  /** Default 100 ms. */
  everyMs?: number
}

/**
 * Asks `probe` again and again until it answers something (not undefined) and returns that answer; after
 * `timeoutMs` it fails with "timed out waiting for <what>" (`what` a function: called then, so it can
 * name what was seen meanwhile, e.g. a subprocess's log). A probe that throws ends the wait with its
 * error. For what a real subprocess, chain or agent does in its own time.
 */
export async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined> | T | undefined, options: UntilOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((r) => setTimeout(r, options.everyMs ?? 100))
  }
}
