import {createServer, type Server} from 'node:http'

import {InputError} from '../errors/index.js'
import {listenOn, urlAuthority, type ListenAddress} from './http-listen.js'

/**
 * The HTTP side of a Prometheus endpoint (`GET /metrics`), shared by the agent and the verifier: the
 * metric definitions stay with each actor; this serves whatever registry it is given.
 */

export type {ListenAddress}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:0", or ":9464" (loopback). */
export function parseListen(spec: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(spec.trim())
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || port > 65535) throw new InputError(`--metrics "${spec}" is not host:port`, {hint: 'e.g. --metrics 127.0.0.1:9464'})
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

export interface ServedRegistry {
  /** http://host:port/metrics */
  url: string
  address: ListenAddress
  close(): Promise<void>
}

/** Listens on `address` and answers GET /metrics (and /) with the registry's text format. */
export async function serveRegistry(registry: {metrics(): Promise<string>; contentType: string}, address: ListenAddress): Promise<ServedRegistry> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found: try /metrics\n')
      return
    }
    registry.metrics().then(
      (body) => res.writeHead(200, {'content-type': registry.contentType}).end(body),
      (error: unknown) => res.writeHead(500, {'content-type': 'text/plain'}).end(String(error)),
    )
  })
  const bound = await listenOn(server, address, 'metrics endpoint', 'pick a free port: --metrics 127.0.0.1:9465')
  return {
    address: bound,
    url: `http://${urlAuthority(bound)}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
