/**
 * One raw JSON-RPC call over fetch, for the places that must not wait for ethers' provider (it retries
 * a dead URL for a long time and loads ethers): probes of an RPC URL, the devnet's liveness check,
 * the doctor. Everything else talks to the chain through ethers in the files next to this one.
 */

/** A JSON-RPC call that got no usable answer; the message is one line, `code` is the node's error code. */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError'
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message)
  }
}

export interface JsonRpcOptions {
  /** Abort after this long (default 5000 ms). */
  timeoutMs?: number
  /** A null result is an answer (e.g. anvil_mine, a receipt not yet mined), not an error. */
  allowNull?: boolean
}

/**
 * POSTs {jsonrpc: '2.0', id: 1, method, params} to `url` and returns `result`. Throws JsonRpcError with
 * one line: "no answer in N ms", the transport's code (ECONNREFUSED, …), "HTTP 503", "not a JSON-RPC
 * answer", "<method>: <node's message>" or "<method>: empty result" (also for null, unless allowNull).
 */
export async function jsonRpc<T>(url: string, method: string, params: unknown[] = [], options: JsonRpcOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000
  const response = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({jsonrpc: '2.0', id: 1, method, params}),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: unknown) => {
    if ((error as Error).name === 'TimeoutError') throw new JsonRpcError(`no answer in ${timeoutMs} ms`)
    const cause = (error as {cause?: {code?: string; message?: string}}).cause
    throw new JsonRpcError(cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)))
  })
  if (!response.ok) throw new JsonRpcError(`HTTP ${response.status}`)
  const body = (await response.json().catch(() => undefined)) as {result?: T; error?: {code?: number; message?: string}} | undefined
  if (!body || typeof body !== 'object') throw new JsonRpcError('not a JSON-RPC answer')
  if (body.error) throw new JsonRpcError(`${method}: ${body.error.message ?? 'error'}`, body.error.code)
  if (body.result === undefined || (body.result === null && !options.allowNull)) throw new JsonRpcError(`${method}: empty result`)
  return body.result as T
}
