/**
 * One HTTP POST of bytes, answered with bytes: for protocols that are not the chain's JSON-RPC
 * (src/chain/rpc.ts), such as OCSP (RFC 6960 appendix A). One-line errors, a timeout and a size cap,
 * so a slow or hostile server can neither hang the caller nor fill its memory.
 */

/** A POST that got no usable answer; the message is one line. */
export class HttpPostError extends Error {
  override readonly name = 'HttpPostError'
}

export interface HttpPostOptions {
  contentType: string
  accept?: string
  /** Abort after this long (default 5000 ms). */
  timeoutMs?: number
  /** Refuse larger answers (default 1 MiB). */
  maxBytes?: number
}

export async function postBytes(url: string, body: Uint8Array, options: HttpPostOptions): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 5000
  const maxBytes = options.maxBytes ?? 1 << 20
  const response = await fetch(url, {
    method: 'POST',
    headers: {'content-type': options.contentType, ...(options.accept ? {accept: options.accept} : {})},
    body: Buffer.from(body),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: unknown) => {
    if ((error as Error).name === 'TimeoutError') throw new HttpPostError(`no answer from ${url} in ${timeoutMs} ms`)
    const cause = (error as {cause?: {code?: string; message?: string}}).cause
    throw new HttpPostError(`${url}: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`)
  })
  if (!response.ok) throw new HttpPostError(`${url} answered HTTP ${response.status}`)
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > maxBytes) throw new HttpPostError(`${url} answered ${declared} bytes, more than ${maxBytes}`)
  const bytes = new Uint8Array(
    await response.arrayBuffer().catch((error: unknown) => {
      throw new HttpPostError(`${url}: ${(error as Error).name === 'TimeoutError' ? `answer not complete in ${timeoutMs} ms` : (error as Error).message}`)
    }),
  )
  if (bytes.length > maxBytes) throw new HttpPostError(`${url} answered ${bytes.length} bytes, more than ${maxBytes}`)
  return bytes
}
