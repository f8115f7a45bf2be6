import {afterAll, beforeAll} from 'vitest'

import {disconnect, type ChainClient} from '../../src/chain/client.js'
import {clientFor, deployFresh, type DeployOptions, type Deployment} from '../integration/chain/helpers.js'
import {anvilUrl} from './env.js'
import {madeInBeforeAll} from './suite-world.js'

/** A suite's own POCI deployment on this worker's anvil (deployed, verifier, keys) and its named, funded clients. */
export type PociSuite<Name extends string> = Readonly<Deployment> & {
  /** This worker's anvil RPC URL. */
  readonly url: string
} & {readonly [N in Name]: ChainClient}

/**
 * The set-up of a suite that plays against its own POCI contracts on real anvil: deployFresh(deploy) and
 * one client with a fresh funded key per name, attached to that deployment, in beforeAll (before the
 * suite's own beforeAll); every client, the verifier (the deployer) too, disconnected after the last test.
 * Call it inside describe(); read the deployment and the clients inside hooks and tests.
 */
export function pociSuite<const Name extends string>(clients: readonly Name[], deploy: DeployOptions = {}): PociSuite<Name> {
  const url = anvilUrl()
  let dep: Deployment | undefined
  const connected = new Map<string, ChainClient>()

  beforeAll(async () => {
    dep = await deployFresh(url, deploy)
    for (const name of clients) connected.set(name, await clientFor(url, dep.deployed.poci))
  })

  afterAll(() => {
    for (const c of [dep?.verifier, ...connected.values()]) if (c) disconnect(c)
  })

  const made = <T>(name: string, value: T | undefined): T => madeInBeforeAll(`pociSuite().${name}`, value)
  const suite: Record<string, unknown> = {url}
  for (const field of ['deployed', 'verifier', 'keys'] as const) Object.defineProperty(suite, field, {get: () => made(field, dep)[field]})
  for (const name of clients) {
    if (name in suite) throw new Error(`pociSuite: a client may not be named ${name}`)
    Object.defineProperty(suite, name, {get: () => made(name, connected.get(name))})
  }
  return suite as PociSuite<Name>
}
