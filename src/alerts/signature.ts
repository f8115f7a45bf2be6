import {createHmac, timingSafeEqual} from 'node:crypto'

/**
 * The webhook's signature: HMAC-SHA256 of the exact body bytes under the shared secret, sent as
 * `X-Unet-Signature: sha256=<hex>` (the GitHub webhook convention). The body carries its own time
 * (`at`), so a receiver can refuse replays of old messages.
 */
export const SIGNATURE_HEADER = 'x-unet-signature'

export function signBody(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body, 'utf8').digest('hex')
}

/** Constant-time check of a received header against the body; false for anything malformed. */
export function verifySignature(body: string, header: string | undefined, secret: string): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/.test(header)) return false
  const expected = Buffer.from(signBody(body, secret))
  const got = Buffer.from(header)
  return expected.length === got.length && timingSafeEqual(expected, got)
}
