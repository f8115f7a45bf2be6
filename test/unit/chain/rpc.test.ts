import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {JsonRpcError, jsonRpc} from '../../../src/chain/rpc.js'
import {anvilUrl} from '../../helpers/env.js'

/** A local HTTP server answering each path with a fixed status and body (what broken nodes send). */
let server: Server
let base: string
const answers: Record<string, [number, string]> = {
  '/http-503': [503, 'busy'],
  '/not-json': [200, '<html>'],
  '/null': [200, '{"jsonrpc":"2.0","id":1,"result":null}'],
  '/error': [200, '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}'],
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 2000)
    const [status, body] = answers[req.url ?? ''] ?? [404, '']
    res.writeHead(status, {'content-type': 'application/json'}).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

/** A loopback port nothing listens on (fetch refuses the well-known low ports outright). */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const {port} = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

describe('jsonRpc', () => {
  it('returns the result of a real node (anvil)', async () => {
    expect(BigInt(await jsonRpc<string>(anvilUrl(), 'eth_chainId'))).toBe(31337n)
    expect(await jsonRpc<null>(anvilUrl(), 'eth_getTransactionReceipt', ['0x' + '00'.repeat(32)], {allowNull: true})).toBeNull()
  })

  it('says in one line why there is no answer', async () => {
    const failure = (url: string, options = {}) => jsonRpc(url, 'eth_chainId', [], options).catch((e: unknown) => e)
    expect(await failure(`${base}/http-503`)).toMatchObject({name: 'JsonRpcError', message: 'HTTP 503'})
    expect(await failure(`${base}/not-json`)).toMatchObject({message: 'not a JSON-RPC answer'})
    expect(await failure(`${base}/null`)).toMatchObject({message: 'eth_chainId: empty result'})
    expect(await failure(`${base}/error`)).toMatchObject({message: 'eth_chainId: method not found', code: -32601})
    expect(await failure(`${base}/slow`, {timeoutMs: 100})).toMatchObject({message: 'no answer in 100 ms'})
    expect(await failure(`http://127.0.0.1:${await closedPort()}`)).toMatchObject({message: 'ECONNREFUSED'})
    expect(await failure(`${base}/error`)).toBeInstanceOf(JsonRpcError)
  })
})
