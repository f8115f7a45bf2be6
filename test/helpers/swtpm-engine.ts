import {afterAll, beforeAll} from 'vitest'

import {Tpm2Engine} from '../../src/hw/tpm2/engine.js'
import {swtpm} from './env.js'

/** The persistent handle of the tests' AK in each worker's swtpm (the engine creates it there on first use). */
export const SWTPM_AK = 0x81010002

/**
 * The set-up of a suite that uses this worker's swtpm through the real Tpm2Engine (AK at SWTPM_AK, quoting
 * `pcrs`): opened in beforeAll, closed after the last test. Call it inside describe(); read engine inside
 * hooks and tests.
 */
export function swtpmEngine(pcrs: number[] = [0, 1, 2, 3]): {readonly engine: Tpm2Engine} {
  let engine: Tpm2Engine | undefined

  beforeAll(async () => {
    engine = await Tpm2Engine.open({tcti: swtpm().tcti, akHandle: SWTPM_AK, pcrs})
  })

  afterAll(() => engine?.close())

  return {
    get engine() {
      if (!engine) throw new Error('swtpmEngine().engine is opened in beforeAll: read it inside a hook or a test')
      return engine
    },
  }
}
