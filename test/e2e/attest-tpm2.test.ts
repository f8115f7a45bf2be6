import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, makeHome, runCli} from '../helpers/cli.js'
import {startSwtpm, type SwtpmHandle} from '../helpers/swtpm.js'

/**
 * Acceptance: a quote produced through unet's FFI on swtpm passes Debian's tpm2_checkquote (tpm2-tools
 * 5.4, written by nobody here) and fails it with a wrong nonce or a changed PCR value.
 */
function checkquote(dir: string, nonceHex: string, pcrs = join(dir, 'quote.pcrs')) {
  return spawnSync(
    'tpm2_checkquote',
    ['-u', join(dir, 'ak.pem'), '-m', join(dir, 'quote.msg'), '-s', join(dir, 'quote.sig'), '-f', pcrs, '-g', 'sha256', '-q', nonceHex],
    {encoding: 'utf8'},
  )
}

describe('unet attest --format tpm2-tools | tpm2_checkquote (subprocess, private swtpm)', () => {
  let sw: SwtpmHandle
  beforeAll(async () => {
    sw = await startSwtpm()
    // make the PCRs non-trivial: extend PCR 5 and 7 with tpm2-tools through the same TCTI
    for (const pcr of [5, 7]) {
      const r = spawnSync('tpm2_pcrextend', [`${pcr}:sha256=${String(pcr).repeat(64)}`], {env: {...process.env, TPM2TOOLS_TCTI: sw.tcti}, encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
    }
  })
  afterAll(() => sw?.stop())

  it('passes tpm2_checkquote with the right nonce, fails with a wrong nonce or a changed PCR', async () => {
    const out = mkdtempSync(join(tmpdir(), 'unet-quote-'))
    const nonce = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90'
    const r = await runCli(['attest', '--engine', 'tpm2', '--tcti', sw.tcti, '--nonce', `0x${nonce}`, '--format', 'tpm2-tools', '--out', out, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<{kind: string}>().kind).toBe('tpm2')

    const ok = checkquote(out, nonce)
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/7 : 0x[0-9A-F]{64}/i)
    expect(ok.stdout).not.toMatch(/7 : 0x0{64}/)

    const wrongNonce = checkquote(out, nonce.replace(/^a1/, 'a2'))
    expect(wrongNonce.status).not.toBe(0)
    expect(wrongNonce.stderr).toMatch(/nonce/i)

    const pcrs = Buffer.from(readFileSync(join(out, 'quote.pcrs')))
    pcrs[132 + 4 + 4 + 2 + 5]! ^= 0x01 // first byte-ish of PCR 0's value
    const tampered = join(out, 'tampered.pcrs')
    writeFileSync(tampered, pcrs)
    expect(checkquote(out, nonce, tampered).status).not.toBe(0)

    // unet's own verifier agrees, through `unet verify tpm-quote`
    const verifyQuote = (pcrsFile: string) =>
      runCli([
        'verify',
        'tpm-quote',
        '--ak',
        join(out, 'ak.pem'),
        '--msg',
        join(out, 'quote.msg'),
        '--sig',
        join(out, 'quote.sig'),
        '--pcrs',
        pcrsFile,
        '--nonce',
        nonce,
        '--json',
      ])
    const v = await verifyQuote(join(out, 'quote.pcrs'))
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(v.json<{valid: boolean}>().valid).toBe(true)
    const bad = await verifyQuote(tampered)
    expect(bad.code).toBe(10)
    expect(JSON.stringify(bad.json())).toMatch(/pcrDigest does not match/)
  })

  it('unet evidence from the TPM verifies with `unet verify FILE` against the swtpm local CA', async () => {
    const home = makeHome()
    const file = join(mkdtempSync(join(tmpdir(), 'unet-ev-')), 'evidence.json')
    const r = await runCli(['attest', '--engine', 'tpm2', '--tcti', sw.tcti, '--nonce', '0x9009', '--out', file], {home})
    expect(r.code, r.stderr).toBe(0)
    const v = await runCli(['verify', file, '--nonce', '0x9009', '--tpm-root', sw.caRootPath, '--tpm-root', sw.caIssuerPath, '--json'], {home})
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(v.json()).toMatchObject({valid: true, kind: 'tpm2'})
    const noRoots = await runCli(['verify', file, '--nonce', '0x9009'], {home})
    expect(noRoots.code).toBe(10)
    expect(noRoots.stderr).toMatch(/trusted TPM EK roots/)
    const wrong = await runCli(['verify', file, '--nonce', '0x9008', '--tpm-root', sw.caRootPath, '--tpm-root', sw.caIssuerPath, '--json'], {home})
    expect(wrong.code).toBe(10)
  })

  it('a TPM device without access permission: HARDWARE_UNAVAILABLE (12) with the tss-group hint', () => {
    const root = mkdtempSync(join(tmpdir(), 'unet-noperm-'))
    chmodSync(root, 0o755)
    const dev = join(root, 'tpmrm0')
    writeFileSync(dev, '')
    const env = {PATH: process.env.PATH!, HOME: root, UNET_CONFIG_DIR: join(root, 'c'), UNET_DATA_DIR: join(root, 'd'), UNET_CACHE_DIR: join(root, 'x')}
    const args = [BIN, 'attest', '--engine', 'tpm2', '--tcti', `device:${dev}`, '--nonce', '0x01', '--out', join(root, 'o')]
    let r
    if (process.getuid?.() === 0) {
      // root reads anything: run as nobody, for whom the 0600 root-owned "device" is closed
      chmodSync(dev, 0o600)
      r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], {env, encoding: 'utf8'})
    } else {
      chmodSync(dev, 0o000)
      r = spawnSync(process.execPath, args, {env, encoding: 'utf8'})
    }
    expect(r.status, r.stderr).toBe(12)
    expect(r.stderr).toMatch(/^Error: no permission to open .*tpmrm0/m)
    expect(r.stderr).toMatch(/^Hint: add your user to the tss group/m)
  })
})
