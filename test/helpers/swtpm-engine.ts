import {afterAll, beforeAll} from 'vitest'

import {Tpm2Engine} from '../../src/hw/tpm2/engine.js'
import {swtpm} from './env.js'
import {madeInBeforeAll} from './suite-world.js'
import {startSwtpm, type SwtpmHandle} from './swtpm.js'

/** The persistent handle of the tests' AK in a swtpm (the engine creates it there on first use). */
export const SWTPM_AK = 0x81010002

export interface SwtpmEngine {
  /** The real Tpm2Engine (tpm2-tss through koffi) on the swtpm. */
  readonly engine: Tpm2Engine
  /** The swtpm it runs on: its TCTI and the local CA (root and issuer) of its EK certificates. */
  readonly tpm: Pick<SwtpmHandle, 'tcti' | 'caRootPath' | 'caIssuerPath'>
}

export interface SwtpmEngineOptions {
  /** The PCRs the engine quotes (default 0-3). */
  pcrs?: number[]
  /** A private swtpm started for this suite and stopped after it, instead of this worker's shared one. */
  own?: boolean
}

/**
 * The set-up of a suite that uses a real swtpm through the real Tpm2Engine (AK at SWTPM_AK): this worker's
 * swtpm, or with `own` a fresh one; the engine opened in beforeAll and closed (the own swtpm stopped) after
 * the last test. Call it inside describe(); read engine and tpm inside hooks and tests.
 */
export function swtpmEngine(options: SwtpmEngineOptions = {}): SwtpmEngine {
  let own: SwtpmHandle | undefined
  let engine: Tpm2Engine | undefined

  beforeAll(async () => {
    if (options.own) own = await startSwtpm()
    engine = await Tpm2Engine.open({tcti: (own ?? swtpm()).tcti, akHandle: SWTPM_AK, pcrs: options.pcrs ?? [0, 1, 2, 3]})
  })

  afterAll(() => {
    engine?.close()
    own?.stop()
  })

  return {
    get engine() {
      return madeInBeforeAll('swtpmEngine().engine', engine)
    },
    get tpm() {
      return options.own ? madeInBeforeAll('swtpmEngine().tpm', own) : swtpm()
    },
  }
}
