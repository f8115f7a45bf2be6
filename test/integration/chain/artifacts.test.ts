import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

describe('contracts/artifacts', () => {
  it('equal a fresh solc-js compile of contracts/src', async () => {
    // @ts-expect-error: plain ESM build script without types
    const {compile, serialize} = (await import('../../../scripts/build-contracts.mjs')) as {
      compile(): Promise<Record<string, unknown>>
      serialize(a: unknown): string
    }
    const fresh = await compile()
    expect(Object.keys(fresh).sort()).toEqual(['P384Verifier', 'Poci', 'UncToken'])
    for (const [name, artifact] of Object.entries(fresh)) {
      const committed = readFileSync(new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url), 'utf8')
      expect(committed, `contracts/artifacts/${name}.json is stale: run npm run build:contracts`).toBe(serialize(artifact))
    }
  }, 120_000)
})
