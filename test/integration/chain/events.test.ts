/**
 * pociEvents on real anvil through a loopback JSON-RPC relay that records what is asked: a scan "from
 * block 0" starts at the contract's genesis block (a node may refuse a range from 0), a range that ends
 * before the contract existed asks the node nothing, and the events are the ones the node has.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {pociEvents} from '../../../src/chain/events.js'
import {anvilUrl} from '../../helpers/env.js'
import {clientFor, deployFresh, emulatorHost, mine, registerHost} from './helpers.js'

interface RpcCall {
  method: string
  params: unknown[]
}

/** Forwards every JSON-RPC body to `upstream` and keeps each call (batches unpacked). */
async function recordingRelay(upstream: string): Promise<{url: string; calls: RpcCall[]; server: Server}> {
  const calls: RpcCall[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const parsed = JSON.parse(body) as RpcCall | RpcCall[]
      calls.push(...(Array.isArray(parsed) ? parsed : [parsed]))
      void fetch(upstream, {method: 'POST', headers: {'content-type': 'application/json'}, body}).then(async (r) => {
        res.writeHead(r.status, {'content-type': 'application/json'}).end(await r.text())
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server}
}

const getLogs = (calls: RpcCall[]) => calls.filter((c) => c.method === 'eth_getLogs').map((c) => c.params[0] as {fromBlock: string; toBlock: string})

describe('pociEvents scans from the contract genesis block (real anvil, recording relay)', () => {
  let relay: Awaited<ReturnType<typeof recordingRelay>>
  let client: ChainClient
  let genesis: number
  let registeredAt: number

  beforeAll(async () => {
    const url = anvilUrl()
    await mine(url, 20) // the contract is deployed well after block 0
    const dep = await deployFresh(url)
    relay = await recordingRelay(url)
    client = await clientFor(relay.url, dep.deployed.poci)
    genesis = Number(await client.poci!.getFunction('genesisBlock').staticCall())
    const reg = await registerHost(client, emulatorHost())
    registeredAt = reg.blockNumber
    disconnect(dep.verifier)
  })

  afterAll(() => {
    disconnect(client)
    relay.server.close()
  })

  it('a range from block 0 is asked from the genesis block, and finds the registration', async () => {
    expect(genesis).toBeGreaterThan(20)
    relay.calls.length = 0
    const events = await pociEvents(client, 'Registered', {fromBlock: 0})
    expect(events.map((e) => e.blockNumber)).toEqual([registeredAt])
    expect(getLogs(relay.calls).map((p) => Number(p.fromBlock))).toEqual([genesis])
    // a later start is kept as it is
    relay.calls.length = 0
    await pociEvents(client, 'Registered', {fromBlock: registeredAt})
    expect(getLogs(relay.calls).map((p) => Number(p.fromBlock))).toEqual([registeredAt])
  })

  it('a range that ends before the contract existed asks the node nothing', async () => {
    relay.calls.length = 0
    expect(await pociEvents(client, 'Registered', {fromBlock: 0, toBlock: genesis - 1})).toEqual([])
    expect(getLogs(relay.calls)).toEqual([])
  })
})
