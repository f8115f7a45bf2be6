import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {ExitCode, UnetError} from '../errors/index.js'

/** Where a local HTTP endpoint (metrics, dashboard) listens. */
export interface ListenAddress {
  host: string
  port: number
}

/**
 * Starts `server` on `address`; a port in use (or a host not on this machine) is the one-line usage
 * error (exit 2) naming `what` with `hint`, not a stack trace. Resolves to the address really bound
 * (port 0 picks a free one).
 */
export async function listenOn(server: Server, address: ListenAddress, what: string, hint: string): Promise<ListenAddress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UnetError(`${what} cannot listen on ${address.host}:${address.port} (${error.code ?? error.message})`, ExitCode.USAGE, {hint})),
    )
    server.listen(address.port, address.host, () => resolve())
  })
  const bound = server.address() as AddressInfo
  return {host: bound.address, port: bound.port}
}

/** "127.0.0.1:9464" or "[::1]:9464": the host:port part of a URL. */
export function urlAuthority(address: ListenAddress): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`
}
