import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {writeSerializedPcrs} from '../../src/hw/tpm2/tpm2-tools.js'
import {parseQuoteAttest} from '../../src/hw/tpm2/structures.js'
import {runCli} from '../helpers/cli.js'
import {parseAttestation} from '../unit/tpm2/gce-pb.js'

const gce = parseAttestation(readFileSync(fileURLToPath(new URL('../../fixtures/go-tpm-tools/gce-cos-85-nonce9009.pb', import.meta.url))))

describe('unet verify tpm-quote on the go-tpm-tools GCE vectors (subprocess)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-gce-'))
  const q = gce.quotes.find((x) => x.hash === 0x0b)!
  writeFileSync(join(dir, 'ak.tpmt'), gce.akPub)
  writeFileSync(join(dir, 'quote.msg'), q.attest)
  writeFileSync(join(dir, 'quote.sig'), q.signature)
  writeFileSync(join(dir, 'quote.pcrs'), writeSerializedPcrs(parseQuoteAttest(q.attest).pcrSelect, q.pcrs))
  const args = (extra: string[] = [], msg = join(dir, 'quote.msg')) => [
    'verify',
    'tpm-quote',
    '--ak-public',
    join(dir, 'ak.tpmt'),
    '--msg',
    msg,
    '--sig',
    join(dir, 'quote.sig'),
    '--pcrs',
    join(dir, 'quote.pcrs'),
    ...extra,
  ]

  it('verifies with nonce 0x9009 (exit 0), fails with another nonce (exit 10, reasons)', async () => {
    const ok = await runCli(args(['--nonce', '0x9009', '--json']))
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.json()).toMatchObject({valid: true, quote: {extraData: '0x9009', resetCount: 10}})
    const bad = await runCli(args(['--nonce', '0x9008']))
    expect(bad.code).toBe(10)
    expect(bad.stderr).toMatch(/^Error: TPM quote is invalid: extraData 0x9009 does not equal the expected nonce 0x9008/m)
  })

  it('a flipped byte fails (10); a truncated quote is malformed input (19)', async () => {
    const flipped = Buffer.from(q.attest)
    flipped[flipped.length - 1]! ^= 1
    writeFileSync(join(dir, 'flipped.msg'), flipped)
    const r = await runCli(args(['--nonce', '0x9009', '--json'], join(dir, 'flipped.msg')))
    expect(r.code).toBe(10)
    writeFileSync(join(dir, 'short.msg'), q.attest.subarray(0, 40))
    const s = await runCli(args(['--nonce', '0x9009'], join(dir, 'short.msg')))
    expect(s.code).toBe(19)
    expect(s.stderr).toMatch(/^Error: malformed TPMS_ATTEST/m)
  })
})
