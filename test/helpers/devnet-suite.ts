import {afterAll, beforeAll} from 'vitest'

import {makeHome, runCli, type Home} from './cli.js'
import {madeInBeforeAll} from './suite-world.js'
import {freePort} from './swtpm.js'

export interface DevnetSuite {
  /** The suite's private config/data/cache dirs: the devnet it starts is this home's. */
  readonly home: Home
  /** A free loopback port for the devnet (read it inside a test: it is picked in beforeAll). */
  readonly port: number
}

/**
 * The set-up of a suite that starts the devnet as a user does (quickstart or `devnet start --port`):
 * a fresh home, a free port, and `unet devnet stop` after the last test, so no anvil outlives it.
 * Call it inside describe().
 */
export function devnetSuite(): DevnetSuite {
  const home = makeHome()
  let port: number | undefined

  beforeAll(async () => {
    port = await freePort()
  })

  afterAll(async () => {
    await runCli(['devnet', 'stop'], {home})
  })

  return {
    home,
    get port() {
      return madeInBeforeAll('devnetSuite().port', port)
    },
  }
}
