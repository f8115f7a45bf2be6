import {inject} from 'vitest'

function workerIndex(): number {
  const id = Number(process.env.VITEST_POOL_ID ?? '1')
  return (id - 1) % inject('anvilUrls').length
}

/** This worker's own anvil RPC URL. */
export function anvilUrl(): string {
  return inject('anvilUrls')[workerIndex()]!
}

/** This worker's own swtpm. */
export function swtpm() {
  return inject('swtpms')[workerIndex()]!
}
