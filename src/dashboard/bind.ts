import {isIP} from 'node:net'

import {UsageError} from '../errors/index.js'

/**
 * Where the dashboard may listen. It has no login: on a loopback address only this machine's users
 * reach it; any other address shows the operator's devices and earnings to whoever can reach the port,
 * so that takes --allow-remote.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIP(v4) === 4 && v4.startsWith('127.')
}

/** Refuses a non-loopback host without the explicit flag (exit 2); returns whether a warning is owed. */
export function checkBindHost(host: string, allowRemote: boolean): {remote: boolean} {
  if (isLoopback(host)) return {remote: false}
  if (!allowRemote)
    throw new UsageError(`--host ${host} is not a loopback address: the dashboard has no login, so anyone who reaches it sees this operator's data`, {
      hint: 'keep the default (127.0.0.1) and use an SSH tunnel, or add --allow-remote to bind it anyway',
    })
  return {remote: true}
}

/**
 * The Host header values a loopback-bound dashboard answers: its own authority under the loopback
 * names. Anything else is a page elsewhere reaching it through DNS rebinding, refused (421).
 */
export function loopbackAuthorities(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
}
