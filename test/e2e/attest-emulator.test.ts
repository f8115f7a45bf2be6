import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {makeHome, runCli} from '../helpers/cli.js'

const dir = () => mkdtempSync(join(tmpdir(), 'unet-emu-e2e-'))

describe('unet attest --engine emulator / unet verify (subprocess)', () => {
  it('devnet: evidence verifies; the key is 0600; tampering gives exit 10 with reasons; garbage gives 19', async () => {
    const home = makeHome()
    const file = join(dir(), 'ev.json')
    const a = await runCli(['attest', '--engine', 'emulator', '--nonce', '0x9009', '--out', file, '--json'], {home})
    expect(a.code, a.stderr).toBe(0)
    expect(a.json()).toMatchObject({kind: 'emulator', format: 'unet'})
    expect(statSync(join(home.dataDir, 'emulator', 'key.pem')).mode & 0o777).toBe(0o600)

    const v = await runCli(['verify', file, '--nonce', '0x9009', '--json'], {home})
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(v.json()).toMatchObject({valid: true, kind: 'emulator', reasons: []})

    const wrong = await runCli(['verify', file, '--nonce', '0x9008', '--json'], {home})
    expect(wrong.code).toBe(10)
    const err = wrong.json<{error: {code: string; details: {reasons: string[]}}}>().error
    expect(err.code).toBe('EVIDENCE_INVALID')
    expect(err.details.reasons.join()).toMatch(/not the expected/)
    const human = await runCli(['verify', file, '--nonce', '0x9008'], {home})
    expect(human.stderr).toMatch(/^Error: emulator evidence is invalid: nonce 0x9009 is not the expected 0x9008/m)

    const ev = JSON.parse(readFileSync(file, 'utf8'))
    const sig = Buffer.from(ev.quote.signature, 'base64url')
    sig[sig.length - 1]! ^= 1
    ev.quote.signature = sig.toString('base64url')
    const tampered = join(dir(), 't.json')
    writeFileSync(tampered, JSON.stringify(ev))
    const t = await runCli(['verify', tampered, '--json'], {home})
    expect(t.code).toBe(10)
    expect(JSON.stringify(t.json())).toMatch(/signature does not verify/)

    const garbage = join(dir(), 'g.json')
    writeFileSync(garbage, '{"v":1,"kind":"tpm2"')
    const g = await runCli(['verify', garbage], {home})
    expect(g.code).toBe(19)
    expect(g.stderr).toMatch(/^Error: invalid evidence: not UTF-8 JSON/m)
  })

  it('a profile with allowEmulator=false refuses the emulator: attest and verify exit 11', async () => {
    const home = makeHome()
    const r = await runCli(['attest', '--engine', 'emulator', '--nonce', '0x01', '--out', join(dir(), 'x.json'), '--network', 'testnet'], {home})
    expect(r.code).toBe(11)
    expect(r.stderr).toMatch(/^Error: emulator evidence is refused on network "testnet"/m)
    const file = join(dir(), 'ev.json')
    expect((await runCli(['attest', '--engine', 'emulator', '--nonce', '0x01', '--out', file], {home})).code).toBe(0)
    const v = await runCli(['verify', file, '--network', 'testnet', '--json'], {home})
    expect(v.code).toBe(11)
    expect(v.json<{error: {code: string}}>().error.code).toBe('EMULATOR_REFUSED')
  })

  it('auto without a TPM falls back to the emulator on devnet, announcing it, and refuses on testnet', async () => {
    const home = makeHome()
    const file = join(dir(), 'ev.json')
    const r = await runCli(['attest', '--nonce', '0x02', '--out', file, '--tcti', 'device:/dev/tpmrm-absent', '--json'], {home})
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({kind: 'emulator'})
    expect(r.stderr).toMatch(/EMULATOR/)
    const t = await runCli(['attest', '--nonce', '0x02', '--out', file, '--tcti', 'device:/dev/tpmrm-absent', '--network', 'testnet'], {home})
    expect(t.code).toBe(12)
  })

  it('bad input: odd hex nonce and a too-long nonce are INPUT_INVALID (19)', async () => {
    expect((await runCli(['attest', '--engine', 'emulator', '--nonce', '0x123', '--out', join(dir(), 'a')])).code).toBe(19)
    expect((await runCli(['attest', '--engine', 'emulator', '--nonce', '0x' + '00'.repeat(65), '--out', join(dir(), 'a')])).code).toBe(19)
  })
})
