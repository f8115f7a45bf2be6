import {ExitCode, UnetError} from '../errors/index.js'

/**
 * Time, injected. The agent never calls Date.now() or setTimeout directly: it asks a Clock, so tests
 * drive hours of epochs in milliseconds with a ManualClock and production uses realClock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Resolves after `ms`; rejects with AbortedError as soon as `signal` aborts (also if already aborted). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** The agent was asked to stop (SIGTERM/SIGINT via an AbortSignal). Exit code 130. */
export class AbortedError extends UnetError {
  constructor(reason = 'stopped by signal') {
    super(reason, ExitCode.INTERRUPTED)
  }
}

export function isAborted(error: unknown): error is AbortedError {
  return error instanceof AbortedError
}

/** Throws AbortedError if the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(abortReason(signal))
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason
  if (typeof r === 'string') return r
  if (r instanceof AbortedError) return r.message
  return 'stopped by signal'
}

/** Wall-clock time and real timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError(abortReason(signal)))
      const onAbort = () => {
        clearTimeout(timer)
        reject(new AbortedError(abortReason(signal!)))
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        Math.max(0, ms),
      )
      signal?.addEventListener('abort', onAbort, {once: true})
    })
  },
}

/**
 * Races a promise we cannot cancel (an RPC call, a TPM command) against the signal, so a stop
 * request is honoured without waiting for a slow peer. The promise keeps running; its result is dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(new AbortedError(abortReason(signal)))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError(abortReason(signal)))
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

interface Timer {
  due: number
  seq: number
  resolve: () => void
}

/**
 * A clock for tests: time moves only when told. `advance(ms)` fires due sleepers in order. With
 * `autoAdvance`, every sleep jumps time forward by its own length at once (a run of the state
 * machine then takes no real time, and `now()` reports the simulated hours).
 */
export class ManualClock implements Clock {
  private t: number
  private seq = 0
  private timers: Timer[] = []
  /** Every sleep requested, in order (ms), for assertions on backoff. */
  readonly sleeps: number[] = []

  constructor(
    start = 1_700_000_000_000,
    private readonly options: {autoAdvance?: boolean} = {},
  ) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms)
    if (signal?.aborted) return Promise.reject(new AbortedError(abortReason(signal)))
    if (this.options.autoAdvance) {
      this.t += Math.max(0, ms)
      // yield to the event loop so callers interleave as with real timers
      return new Promise((resolve, reject) => setImmediate(() => (signal?.aborted ? reject(new AbortedError(abortReason(signal))) : resolve())))
    }
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {due: this.t + Math.max(0, ms), seq: this.seq++, resolve: () => {}}
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer)
        reject(new AbortedError(abortReason(signal!)))
      }
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      this.timers.push(timer)
    })
  }

  /** Number of sleepers waiting. */
  get pending(): number {
    return this.timers.length
  }

  /** Moves time forward, firing each due sleeper in due order (and letting its continuation run). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq)
      const next = this.timers[0]
      if (!next || next.due > target) break
      this.timers.shift()
      this.t = Math.max(this.t, next.due)
      next.resolve()
      await new Promise((r) => setImmediate(r))
    }
    this.t = target
  }
}

export interface BackoffOptions {
  /** First ceiling (ms). */
  baseMs: number
  /** Ceiling never exceeds this (ms). */
  maxMs: number
  /** Random in [0,1); injectable for tests. */
  random?: () => number
}

/** "Full jitter" (AWS architecture blog): delay = random(0, min(max, base·2^attempt)). */
export function fullJitterDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(attempt, 52)))
  return Math.floor(random() * ceiling)
}

/** Stateful backoff: each `next()` grows the ceiling, `reset()` after a success. */
export class Backoff {
  private n = 0

  constructor(private readonly options: BackoffOptions) {
    if (!(options.baseMs > 0) || !(options.maxMs >= options.baseMs)) throw new RangeError('backoff needs 0 < baseMs <= maxMs')
  }

  get attempt(): number {
    return this.n
  }

  next(): number {
    return fullJitterDelay(this.n++, this.options)
  }

  reset(): void {
    this.n = 0
  }

  /** Sleeps the next delay on `clock`; rejects with AbortedError when `signal` fires. Returns the delay. */
  async wait(clock: Clock, signal?: AbortSignal): Promise<number> {
    const ms = this.next()
    await clock.sleep(ms, signal)
    return ms
  }
}
