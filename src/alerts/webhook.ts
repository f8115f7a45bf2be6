import {Backoff, realClock, type Clock} from '../agent/backoff.js'
import {SIGNATURE_HEADER, signBody} from './signature.js'

export interface WebhookOptions {
  url: string
  /** Shared secret for the signature header; never logged, never sent. */
  secret?: string
  /** Retries after the first attempt (default 4). */
  retries?: number
  /** Backoff between attempts (default 500 ms … 8 s, jittered). */
  backoff?: {baseMs: number; maxMs: number}
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number
  clock?: Clock
}

export type DeliveryResult = {ok: true; attempts: number; status?: number} | {ok: false; attempts: number; error: string}

/** A status worth retrying: the receiver may answer later (5xx, 429, 408); other 4xx will not change. */
const retryable = (status: number) => status >= 500 || status === 429 || status === 408

/** POSTs the JSON body, signed, retrying network errors and retryable statuses with jittered backoff. */
export async function postWebhook(body: string, o: WebhookOptions): Promise<DeliveryResult> {
  const retries = o.retries ?? 4
  const backoff = new Backoff(o.backoff ?? {baseMs: 500, maxMs: 8000})
  const headers: Record<string, string> = {'content-type': 'application/json', 'user-agent': 'unet-alerts/1'}
  if (o.secret) headers[SIGNATURE_HEADER] = signBody(body, o.secret)
  let error = ''
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(o.url, {method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(o.timeoutMs ?? 10_000)})
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return {ok: true, attempts: attempt, status: res.status}
      error = `HTTP ${res.status}`
      if (!retryable(res.status)) return {ok: false, attempts: attempt, error}
    } catch (e) {
      const cause = (e as {cause?: {code?: string; message?: string}}).cause
      error = cause?.code ?? cause?.message ?? (e as Error).message
    }
    if (attempt > retries) return {ok: false, attempts: attempt, error}
    await backoff.wait(o.clock ?? realClock)
  }
}
