import type {TestProject} from 'vitest/node'

import {startAnvil, type AnvilHandle} from '../../src/chain/anvil.js'
import {startSwtpm, type SwtpmHandle} from './swtpm.js'
import {WORKERS} from './workers.js'

declare module 'vitest' {
  export interface ProvidedContext {
    anvilUrls: string[]
    swtpms: Array<{tcti: string; port: number; ctrlPort: number; stateDir: string; caRootPath: string; caIssuerPath: string}>
  }
}

/**
 * One real anvil and one real swtpm per worker, started once for the run and killed by pid at the
 * end. Tests pick theirs by VITEST_POOL_ID (see env.ts), so workers never share chain or TPM state.
 */
export default async function setup(project: TestProject) {
  const anvils: AnvilHandle[] = []
  const swtpms: SwtpmHandle[] = []
  const teardown = () => {
    for (const p of [...anvils, ...swtpms]) p.stop()
  }
  try {
    for (let i = 0; i < WORKERS; i++) {
      anvils.push(await startAnvil())
      swtpms.push(await startSwtpm())
    }
  } catch (error) {
    teardown()
    throw error
  }
  project.provide(
    'anvilUrls',
    anvils.map((a) => a.rpcUrl),
  )
  project.provide(
    'swtpms',
    swtpms.map(({tcti, port, ctrlPort, stateDir, caRootPath, caIssuerPath}) => ({tcti, port, ctrlPort, stateDir, caRootPath, caIssuerPath})),
  )
  return teardown
}
