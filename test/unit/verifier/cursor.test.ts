import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadCursor, rewindCursor, saveCursor, type VerifierCursor} from '../../../src/verifier/cursor.js'
import type {ChainIdentity} from '../../../src/util/chain-identity.js'

const CHAIN: ChainIdentity = {chainId: 31337n, genesisHash: '0x' + '11'.repeat(32), contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3'}

function scanned(nextBlock: number): VerifierCursor {
  const c = loadCursor(join(mkdtempSync(join(tmpdir(), 'unet-cursor-')), 'none.json'), CHAIN, 1)
  return {
    ...c,
    nextBlock,
    waiting: {'0x01': {deviceId: '0xd1', blockNumber: 10, challengedAt: 11, decision: {kind: 'host-tpm', txHash: '0x', power: '1', reasons: [], warnings: []}}},
    retry: {'0x02': {blockNumber: 40, attempts: 1, notBefore: 0}},
    closed: {'0x03': 'NotPending'},
    spot: {pending: [{hostId: '0xh', epoch: '3', blockNumber: 45, txHash: '0xt'}], open: []},
  }
}

describe('verifier cursor', () => {
  it('is kept for the same chain and ignored for a fresh chain with the same chain id and contract (another genesis)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'unet-cursor-')), 'cursor.json')
    saveCursor(file, scanned(50))
    expect(loadCursor(file, CHAIN, 1).nextBlock).toBe(50)
    expect(loadCursor(file, {...CHAIN, genesisHash: CHAIN.genesisHash.toUpperCase().replace('0X', '0x')}, 1).nextBlock).toBe(50)
    const other = loadCursor(file, {...CHAIN, genesisHash: '0x' + '22'.repeat(32)}, 3)
    expect(other).toMatchObject({nextBlock: 3, waiting: {}, closed: {}})
    // a cursor written before genesis hashes were recorded cannot say which chain it was: not trusted
    const {genesisHash: _g, ...legacy} = scanned(50)
    saveCursor(file, legacy as VerifierCursor)
    expect(loadCursor(file, CHAIN, 3).nextBlock).toBe(3)
  })

  it('ahead of the head (a chain restored from an older dump): back to head + 1, forgetting what the lost blocks taught it', () => {
    const {cursor, rewound} = rewindCursor(scanned(50), 30)
    expect(rewound).toBe(true)
    expect(cursor.nextBlock).toBe(31)
    expect(Object.keys(cursor.waiting)).toEqual(['0x01'])
    expect(cursor.retry).toEqual({})
    expect(cursor.closed).toEqual({})
    expect(cursor.spot.pending).toEqual([])
    expect(rewindCursor(scanned(31), 30)).toMatchObject({rewound: false, cursor: {nextBlock: 31, closed: {'0x03': 'NotPending'}}})
  })
})
