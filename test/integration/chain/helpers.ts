import {createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {ContractFactory, JsonRpcProvider, SigningKey, Wallet, hexlify, randomBytes as ethersRandomBytes} from 'ethers'

import type {NetworkProfile} from '../../../src/config/schema.js'
import {DeviceKind, loadArtifact, type DeviceKindValue} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {activate, approve, challengeCredential} from '../../../src/chain/approve.js'
import {attachPoci, connect, type ChainClient} from '../../../src/chain/client.js'
import {deploy, type DeployResult} from '../../../src/chain/deploy.js'
import type {HeartbeatDevice, HeartbeatParams} from '../../../src/chain/heartbeat.js'
import {register, registrationNonce, type RegisterResult} from '../../../src/chain/register.js'
import {jsonRpc} from '../../../src/chain/rpc.js'
import {minedReceipt} from '../../../src/chain/tx.js'
import {UnetError} from '../../../src/errors/index.js'
import {deviceIdOf, heartbeatChallenge, quoteQualifyingData, registerChallenge} from '../../../src/evidence/nonce.js'
import {bytesToHex, concatBytes, hexToBytes} from '../../../src/util/hex.js'
import {p384Key, p384Sign, type P384Key} from '../../helpers/spdm-exchange.js'

export function profileFor(rpcUrl: string, chainId = 31337, blockSeconds = 1): NetworkProfile {
  return {name: 'test', chainId, rpcUrls: [rpcUrl], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator: true, blockSeconds}
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

export interface DeployOptions {
  /** Epoch length in blocks (default 200: room for a whole test's transactions in one epoch). */
  epochBlocks?: number
  allowEmulator?: boolean
  reward?: bigint
  verifierDelay?: number
  registrationDeposit?: bigint
  challengeDeposit?: bigint
  /** A P384Verifier address; default: the real one (deployed once per chain), see p384VerifierAddress. */
  p384Verifier?: string
}

const p384Verifiers = new Map<string, Promise<string>>()

/** The real P384Verifier, deployed once per chain and shared (it is stateless). */
function p384VerifierAddress(rpcUrl: string, client: ChainClient): Promise<string> {
  let address = p384Verifiers.get(rpcUrl)
  if (!address) {
    address = (async () => {
      const artifact = loadArtifact('P384Verifier')
      const contract = await new ContractFactory(artifact.abi as never, artifact.bytecode, client.signer!).deploy()
      await minedReceipt(client, contract.deploymentTransaction()!.hash, 'deploy P384Verifier')
      return contract.getAddress()
    })()
    address.catch(() => p384Verifiers.delete(rpcUrl))
    p384Verifiers.set(rpcUrl, address)
  }
  return address
}

export async function deployFresh(rpcUrl: string, options: DeployOptions = {}): Promise<Deployment> {
  const key = await fundedKey(rpcUrl)
  const verifier = await connect(profileFor(rpcUrl), {privateKey: key})
  const deployed = await deploy(verifier, {
    verifier: verifier.signer!.address,
    epochBlocks: options.epochBlocks ?? 200,
    allowEmulator: options.allowEmulator ?? true,
    rewardPerPowerEpoch: options.reward,
    verifierDelay: options.verifierDelay,
    registrationDeposit: options.registrationDeposit,
    challengeDeposit: options.challengeDeposit,
    p384Verifier: options.p384Verifier ?? (await p384VerifierAddress(rpcUrl, verifier)),
  })
  return {deployed, verifier, keys: {verifier: key}}
}

export async function clientFor(rpcUrl: string, poci: string, key?: string): Promise<ChainClient> {
  const client = await connect(profileFor(rpcUrl), {privateKey: key ?? (await fundedKey(rpcUrl))})
  return attachPoci(client, poci)
}

/** A raw JSON-RPC call to anvil (anvil_mine and anvil_setCode answer null); no short timeout, as before. */
export async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  return jsonRpc(rpcUrl, method, params, {allowNull: true, timeoutMs: 120_000})
}

export async function mine(rpcUrl: string, blocks = 1): Promise<void> {
  if (blocks > 0) await rpc(rpcUrl, 'anvil_mine', [`0x${blocks.toString(16)}`])
}

/**
 * Mines to the first block of the next epoch: that block is then the latest (a challenge block B of the
 * new epoch) and the heartbeat lands one block later, still inside it.
 */
export async function nextEpoch(rpcUrl: string, client: ChainClient): Promise<bigint> {
  const cb = await challengeBlock(client)
  await mine(rpcUrl, Number(cb.epochEndBlock - cb.blockNumber))
  return cb.epoch + 1n
}

/** Moves to the next epoch unless this one still has `blocks` blocks after the latest (so n transactions fit). */
export async function roomInEpoch(rpcUrl: string, client: ChainClient, blocks: number): Promise<void> {
  const cb = await challengeBlock(client)
  if (cb.blocksLeft < BigInt(blocks)) await nextEpoch(rpcUrl, client)
}

/** The custom error (name and decoded arguments) a rejected transaction names (UnetError details from src/chain/tx.ts). */
export async function reverted(promise: Promise<unknown>): Promise<{name: string; args: Record<string, string>}> {
  try {
    await promise
  } catch (error) {
    if (!(error instanceof UnetError) || error.code !== 'TX_REJECTED' || typeof error.details?.error !== 'string') throw error
    return {name: error.details.error, args: (error.details.args ?? {}) as Record<string, string>}
  }
  throw new Error('expected the contract to reject the transaction')
}

export async function revertName(promise: Promise<unknown>): Promise<string> {
  return (await reverted(promise)).name
}

// ------------------------------------------------------------------ registration flows

export interface Quoter {
  publicKey: Uint8Array
  quote(extraData: Uint8Array): {attest: Uint8Array; r: Uint8Array; s: Uint8Array}
}

/** The register challenge for `deviceId` under `hostId` (a host: itself) with the key's current nonce. */
export async function currentRegisterChallenge(client: ChainClient, params: {payout: string; deviceId: string; hostId?: string}): Promise<Uint8Array> {
  return registerChallenge({
    chainId: client.chainId,
    contract: client.pociAddress!,
    operator: client.signer!.address,
    payout: params.payout,
    deviceId: params.deviceId,
    hostId: params.hostId ?? params.deviceId,
    nonce: await registrationNonce(client, params.deviceId),
  })
}

/** Registers a host (emulator key or swtpm AK) with a quote over its register challenge. */
export async function registerHost(
  client: ChainClient,
  host: Quoter,
  options: {kind?: DeviceKindValue; payout?: string; evidence?: Uint8Array} = {},
): Promise<RegisterResult> {
  const payout = options.payout ?? client.signer!.address
  const deviceId = bytesToHex(deviceIdOf(host.publicKey))
  const q = host.quote(await currentRegisterChallenge(client, {payout, deviceId}))
  return register(client, {
    kind: options.kind ?? DeviceKind.HOST_EMULATOR,
    publicKey: host.publicKey,
    payout,
    proof: concatBytes(q.attest, q.r, q.s),
    evidence: options.evidence,
  })
}

/** An own-key or committed device: its kind, raw public key and how it signs a challenge. */
export interface TestDevice {
  kind: DeviceKindValue
  publicKey: Uint8Array
  deviceId: string
  /** Registration proof over the register challenge. */
  registerProof(challenge: Uint8Array): Uint8Array
  /** Heartbeat proof over the per-device challenge (undefined: committed by digest only). */
  beatProof?(challenge: Uint8Array): Uint8Array
  /** p384: the chip id approve binds (a real GPU's comes from its device identity certificate; here random). */
  chipId?: string
}

/**
 * The verifier approves a host registration; a host-tpm one first goes through credential activation
 * (the verifier's commitment to a random secret, the operator's answer: what the TPM's ActivateCredential
 * would recover; the real MakeCredential/ActivateCredential round trip is in tpm-registration.test.ts).
 */
export async function approveHost(
  verifier: ChainClient,
  operator: ChainClient,
  reg: {regId: string},
  options: {power?: bigint; ekId?: string} = {},
): Promise<void> {
  const info = (await operator.poci!.getFunction('registrationInfo').staticCall(reg.regId)) as unknown[]
  if (Number(info[4]) === DeviceKind.HOST_TPM) {
    const secret = randomBytes(32)
    const commitment = (await operator.poci!.getFunction('activationCommitment').staticCall(reg.regId, bytesToHex(secret))) as string
    await challengeCredential(verifier, {regId: reg.regId, credentialBlob: Uint8Array.of(1), encryptedSecret: Uint8Array.of(2), commitment})
    await activate(operator, {regId: reg.regId, secret})
  }
  await approve(verifier, {
    regId: reg.regId,
    power: options.power ?? 1n,
    ekId: options.ekId ?? (Number(info[4]) === DeviceKind.HOST_TPM ? bytesToHex(randomBytes(32)) : undefined),
  })
}

export async function registerDevice(client: ChainClient, device: TestDevice, hostId: string, options: {payout?: string} = {}): Promise<RegisterResult> {
  const payout = options.payout ?? client.signer!.address
  const challenge = await currentRegisterChallenge(client, {payout, deviceId: device.deviceId, hostId})
  return register(client, {kind: device.kind, publicKey: device.publicKey, payout, hostId, proof: device.registerProof(challenge)})
}

export function p256Device(key: P256Key = p256Key(), kind: DeviceKindValue = DeviceKind.P256): TestDevice {
  return {
    kind,
    publicKey: key.publicKey,
    deviceId: bytesToHex(deviceIdOf(key.publicKey)),
    registerProof: (c) => p256Sign(key, c).rs,
    beatProof: (c) => concatBytes(key.publicKey, p256Sign(key, c).rs),
  }
}

export function rsaDevice(key: RsaKey = rsaKey()): TestDevice {
  return {
    kind: DeviceKind.RSA2048,
    publicKey: key.modulus,
    deviceId: bytesToHex(deviceIdOf(key.modulus)),
    registerProof: (c) => rsaSign(key, c),
    beatProof: (c) => concatBytes(key.modulus, rsaSign(key, c)),
  }
}

export function k1Device(key = k1Key()): TestDevice {
  return {
    kind: DeviceKind.SECP256K1,
    publicKey: key.publicKey,
    deviceId: bytesToHex(deviceIdOf(key.publicKey)),
    registerProof: (c) => k1Sign(key, c),
    beatProof: (c) => k1Sign(key, c),
  }
}

/** A P-384 (NVIDIA-kind) device: its registration proof is recorded for the verifier, not checked on chain. */
export function p384Device(key: P384Key = p384Key()): TestDevice & {key: P384Key} {
  return {
    key,
    kind: DeviceKind.P384,
    publicKey: key.publicKey,
    deviceId: bytesToHex(deviceIdOf(key.publicKey)),
    registerProof: (c) => p384Sign(key, c),
    chipId: bytesToHex(randomBytes(32)),
  }
}

// ------------------------------------------------------------------ heartbeats

export interface BeatDevice {
  device: TestDevice
  /** Committed evidence digest (default: random). */
  evidenceDigest?: string
}

export interface BeatOptions {
  /** Challenge block (default: the latest block). */
  block?: {blockNumber: bigint; blockHash: string}
  /** Claimed epoch (default: the epoch of the latest block). */
  epoch?: bigint
  /** Edits the qualifying data before the host quotes it. */
  quoteExtra?: (qualifyingData: Uint8Array) => Uint8Array
  /** Another key signs the quote. */
  quoter?: Quoter
}

/** Builds a heartbeat of `host` over `devices` (in that order), signed by `client`'s operator. */
export async function buildBeat(client: ChainClient, host: Quoter, devices: readonly BeatDevice[], options: BeatOptions = {}): Promise<HeartbeatParams> {
  const cb = await challengeBlock(client)
  const block = options.block ?? cb
  const epoch = options.epoch ?? cb.epoch
  const base = {
    chainId: client.chainId,
    contract: client.pociAddress!,
    operator: client.signer!.address,
    epoch,
    blockNumber: block.blockNumber,
    blockHash: block.blockHash,
  }
  const list: HeartbeatDevice[] = devices.map(({device, evidenceDigest}) => ({
    deviceId: device.deviceId,
    kind: device.kind,
    evidenceDigest: evidenceDigest ?? bytesToHex(randomBytes(32)),
    proof: device.beatProof?.(heartbeatChallenge({...base, hostId: device.deviceId})),
  }))
  let qd = quoteQualifyingData(heartbeatChallenge({...base, hostId: bytesToHex(deviceIdOf(host.publicKey))}), list)
  if (options.quoteExtra) qd = options.quoteExtra(qd)
  const q = (options.quoter ?? host).quote(qd)
  return {
    epoch,
    blockNumber: block.blockNumber,
    blockHash: block.blockHash,
    akPublicKey: host.publicKey,
    attest: q.attest,
    signature: {r: q.r, s: q.s},
    devices: list,
  }
}

/** An emulator host key that quotes like a TPM (same TPMS_ATTEST layout, P-256 signature). */
export function emulatorHost(key: P256Key = p256Key()): Quoter & {key: P256Key; hostId: string} {
  return {key, publicKey: key.publicKey, hostId: bytesToHex(deviceIdOf(key.publicKey)), quote: (extra) => emulatorQuote(key, extra)}
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
  const key = new SigningKey(hexlify(ethersRandomBytes(32)))
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
  /** The EK's TPM2B_PUBLIC as tpm2_createek wrote it (every AK of one swtpm shares this EK). */
  ekPublic!: Uint8Array

  constructor(readonly tcti: string) {}

  private run(args: string[]): string {
    return execFileSync(args[0]!, args.slice(1), {
      env: {...process.env, TPM2TOOLS_TCTI: this.tcti},
      cwd: this.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
    this.ekPublic = Uint8Array.from(readFileSync(join(this.dir, 'ek.pub')))
    return this
  }

  /** A real TPM2_Quote over sha256:0,1,2,3 with the given qualifying data; r and s from the DER signature. */
  quote(extraData: Uint8Array): {attest: Uint8Array; r: Uint8Array; s: Uint8Array} {
    this.run([
      'tpm2_quote',
      '-c',
      'ak.ctx',
      '-l',
      'sha256:0,1,2,3',
      '-q',
      bytesToHex(extraData, false),
      '-m',
      'msg',
      '-s',
      'sig',
      '-f',
      'plain',
      '-g',
      'sha256',
    ])
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
