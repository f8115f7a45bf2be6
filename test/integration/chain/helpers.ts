import {createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {JsonRpcProvider, SigningKey, Wallet, hexlify, randomBytes} from 'ethers'

import type {NetworkProfile} from '../../../src/config/schema.js'
import {attachPoci, connect, type ChainClient} from '../../../src/chain/client.js'
import {deploy, type DeployResult} from '../../../src/chain/deploy.js'
import {bytesToHex, concatBytes, hexToBytes} from '../../../src/util/hex.js'

export function profileFor(rpcUrl: string, chainId = 31337): NetworkProfile {
  return {name: 'test', chainId, rpcUrls: [rpcUrl], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator: true}
}

/** A fresh random account with 100 ETH (anvil_setBalance), so test files never share nonces. */
export async function fundedKey(rpcUrl: string): Promise<string> {
  const wallet = Wallet.createRandom()
  const provider = new JsonRpcProvider(rpcUrl, undefined, {staticNetwork: true})
  await provider.send('anvil_setBalance', [wallet.address, '0x56bc75e2d63100000'])
  provider.destroy()
  return wallet.privateKey
}

export interface Deployment {
  deployed: DeployResult
  verifier: ChainClient
  keys: {verifier: string}
}

export async function deployFresh(rpcUrl: string, options: {epochSeconds?: number; allowEmulator?: boolean; maxBlockAge?: number; reward?: bigint} = {}): Promise<Deployment> {
  const key = await fundedKey(rpcUrl)
  const verifier = await connect(profileFor(rpcUrl), {privateKey: key})
  const deployed = await deploy(verifier, {
    verifier: verifier.signer!.address,
    epochSeconds: options.epochSeconds ?? 3600,
    allowEmulator: options.allowEmulator ?? true,
    maxBlockAge: options.maxBlockAge ?? 64,
    rewardPerPowerEpoch: options.reward,
  })
  return {deployed, verifier, keys: {verifier: key}}
}

export async function clientFor(rpcUrl: string, poci: string, key?: string): Promise<ChainClient> {
  const client = await connect(profileFor(rpcUrl), {privateKey: key ?? (await fundedKey(rpcUrl))})
  return attachPoci(client, poci)
}

export async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(rpcUrl, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({jsonrpc: '2.0', id: 1, method, params})})
  const body = (await response.json()) as {result?: unknown; error?: {message: string}}
  if (body.error) throw new Error(body.error.message)
  return body.result
}

export async function mine(rpcUrl: string, blocks = 1): Promise<void> {
  await rpc(rpcUrl, 'anvil_mine', [`0x${blocks.toString(16)}`])
}

export async function increaseTime(rpcUrl: string, seconds: number): Promise<void> {
  await rpc(rpcUrl, 'evm_increaseTime', [`0x${seconds.toString(16)}`])
  await mine(rpcUrl)
}

// ------------------------------------------------------------------ TPMS_ATTEST + signers

const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff)
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)

/** The TPMS_ATTEST quote structure the emulator engine produces (same layout a TPM signs). */
export function buildAttest(extraData: Uint8Array, options: {signerName?: Uint8Array; pcrDigest?: Uint8Array} = {}): Uint8Array {
  const name = options.signerName ?? concatBytes(u16(0x000b), new Uint8Array(32).fill(0x11))
  const digest = options.pcrDigest ?? new Uint8Array(32).fill(0x22)
  return concatBytes(
    u32(0xff544347),
    u16(0x8018),
    u16(name.length),
    name,
    u16(extraData.length),
    extraData,
    new Uint8Array(8).fill(1), // clock
    u32(7), // resetCount
    u32(0), // restartCount
    Uint8Array.of(1), // safe
    new Uint8Array(8).fill(3), // firmwareVersion
    u32(1), // one PCR bank
    u16(0x000b),
    Uint8Array.of(3, 0xff, 0, 0),
    u16(digest.length),
    digest,
  )
}

export interface P256Key {
  privateKey: KeyObject
  /** x‖y */
  publicKey: Uint8Array
}

export function p256Key(): P256Key {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  return {privateKey, publicKey: rawEcPublicKey(publicKey)}
}

export function rawEcPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({format: 'jwk'})
  return concatBytes(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'))
}

/** ECDSA P-256 over SHA-256(message), r‖s. */
export function p256Sign(key: P256Key, message: Uint8Array): {r: Uint8Array; s: Uint8Array; rs: Uint8Array} {
  const rs = Uint8Array.from(sign('sha256', message, {key: key.privateKey, dsaEncoding: 'ieee-p1363'}))
  return {r: rs.subarray(0, 32), s: rs.subarray(32), rs}
}

export function emulatorQuote(key: P256Key, extraData: Uint8Array) {
  const attest = buildAttest(extraData)
  return {attest, ...p256Sign(key, attest)}
}

export interface RsaKey {
  privateKey: KeyObject
  modulus: Uint8Array
}

export function rsaKey(): RsaKey {
  for (;;) {
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048, publicExponent: 65537})
    const modulus = Uint8Array.from(Buffer.from(publicKey.export({format: 'jwk'}).n!, 'base64url'))
    if (modulus.length === 256) return {privateKey, modulus}
  }
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over message. */
export function rsaSign(key: RsaKey, message: Uint8Array): Uint8Array {
  return Uint8Array.from(sign('sha256', message, key.privateKey))
}

export function k1Key(): {key: SigningKey; publicKey: Uint8Array} {
  const key = new SigningKey(hexlify(randomBytes(32)))
  return {key, publicKey: hexToBytes(key.publicKey).subarray(1)}
}

/** secp256k1 over SHA-256(message), r‖s‖v. */
export function k1Sign(k: {key: SigningKey}, message: Uint8Array): Uint8Array {
  const sig = k.key.sign(createHash('sha256').update(message).digest())
  return concatBytes(hexToBytes(sig.r), hexToBytes(sig.s), Uint8Array.of(sig.v))
}

// ------------------------------------------------------------------ real swtpm quotes (tpm2-tools)

/** An ECC P-256 AK in a real swtpm, created and used with Debian's tpm2-tools. */
export class SwtpmAk {
  readonly dir = mkdtempSync(join(tmpdir(), 'unet-ak-'))
  publicKey!: Uint8Array
  name!: Uint8Array

  constructor(readonly tcti: string) {}

  private run(args: string[]): string {
    return execFileSync(args[0]!, args.slice(1), {env: {...process.env, TPM2TOOLS_TCTI: this.tcti}, cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  }

  private flush(): void {
    this.run(['tpm2_flushcontext', '-t'])
    this.run(['tpm2_flushcontext', '-s'])
  }

  create(): this {
    this.flush()
    this.run(['tpm2_createek', '-c', 'ek.ctx', '-G', 'ecc', '-u', 'ek.pub'])
    this.flush()
    this.run(['tpm2_createak', '-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'ecc', '-s', 'ecdsa', '-g', 'sha256', '-u', 'ak.pem', '-f', 'pem', '-n', 'ak.name'])
    this.flush()
    this.publicKey = rawEcPublicKey(createPublicKey(readFileSync(join(this.dir, 'ak.pem'))))
    this.name = Uint8Array.from(readFileSync(join(this.dir, 'ak.name')))
    return this
  }

  /** A real TPM2_Quote over sha256:0,1,2,3 with the given qualifying data; r and s from the DER signature. */
  quote(extraData: Uint8Array): {attest: Uint8Array; r: Uint8Array; s: Uint8Array} {
    this.run(['tpm2_quote', '-c', 'ak.ctx', '-l', 'sha256:0,1,2,3', '-q', bytesToHex(extraData, false), '-m', 'msg', '-s', 'sig', '-f', 'plain', '-g', 'sha256'])
    this.flush()
    const attest = Uint8Array.from(readFileSync(join(this.dir, 'msg')))
    const {r, s} = derToRs(Uint8Array.from(readFileSync(join(this.dir, 'sig'))))
    return {attest, r, s}
  }
}

export function derToRs(der: Uint8Array): {r: Uint8Array; s: Uint8Array} {
  let o = 2
  if (der[1]! & 0x80) o += der[1]! & 0x7f
  const read = () => {
    if (der[o] !== 0x02) throw new Error('bad DER signature')
    const len = der[o + 1]!
    let v = der.subarray(o + 2, o + 2 + len)
    o += 2 + len
    while (v.length > 32 && v[0] === 0) v = v.subarray(1)
    const out = new Uint8Array(32)
    out.set(v, 32 - v.length)
    return out
  }
  return {r: read(), s: read()}
}
