/**
 * Shared set-up for the agent benches (scripts/bench-agent-*.mjs, driven by scripts/bench.mjs): a real
 * anvil with the POCI contracts, a funded operator, a host engine (swtpm through tpm2-tss FFI, or the
 * emulator), the host registered and approved, and a MinerSession-shaped object for the live ports.
 * Not a test helper: nothing here is imported by the test suite.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

/**
 * Where the agent code comes from: dist/ (what the daemon runs; `npm run build` first) by default,
 * src/ through tsx with UNET_BENCH_FROM=src (the swtpm bench needs tsx anyway for test/helpers).
 * tsx's loader thread alone adds ~30 MB of RSS, so the memory bench must use dist/.
 */
export const FROM = process.env.UNET_BENCH_FROM === 'src' ? 'src' : 'dist'
/** scripts/bench.mjs compiles a private dist (UNET_BENCH_DIST) so a rebuild of ./dist by others cannot race it. */
const base =
  FROM === 'src'
    ? new URL('../src/', import.meta.url)
    : process.env.UNET_BENCH_DIST
      ? pathToFileURL(process.env.UNET_BENCH_DIST + '/')
      : new URL('../dist/', import.meta.url)
/** Imports "agent/run-agent.js" etc. from dist/ or src/. */
export const load = (path) => import(new URL(path, base).href)

export const PCRS = [0, 1, 2, 3, 4, 5, 6, 7]

/**
 * What `openMinerSession` gives a miner command, without the keystore: the operator's chain client,
 * the host engine and its identity. Loads only what the daemon loads (the RSS bench's child uses it).
 * options: {rpcUrl, contracts, operatorKey, dataDir, engine: 'tpm2' | 'emulator', tcti?}
 */
export async function openBenchSession(options) {
  const {connect} = await load('chain/client.js')
  const {DeviceKind} = await load('chain/artifacts.js')
  const {devnetProfile} = await load('chain/devnet.js')
  const {openEngine} = await load('hw/engine.js')
  const profile = devnetProfile(options.rpcUrl, options.contracts)
  const client = await connect(profile, {privateKey: options.operatorKey})
  const engine = await openEngine({engine: options.engine, tcti: options.tcti ?? '', dataDir: options.dataDir, akHandle: 0x81010002, pcrs: PCRS, profile})
  try {
    const identity = await engine.identity()
    const operator = client.signer.address
    return {
      resolved: {profile, paths: {dataDir: options.dataDir}, config: {}},
      client,
      engine,
      identity,
      hostId: identity.deviceId,
      hostKind: engine.kind === 'tpm2' ? DeviceKind.HOST_TPM : DeviceKind.HOST_EMULATOR,
      operator,
      payout: operator,
      close: () => engine.close(),
    }
  } catch (error) {
    engine.close()
    throw error
  }
}

/**
 * anvil (automine unless blockTime) + POCI with `epochBlocks` (the contract counts epochs in blocks;
 * with a blockTime of 1 s an epoch of N blocks lasts about N s) + an operator with 1000 ETH + the host
 * engine, registered and approved by the deployer (the devnet's verifier role).
 * options: {epochBlocks, blockTime?, engine: 'tpm2' | 'emulator', tcti?}
 */
export async function setupChain(options) {
  const {startAnvil} = await load('chain/anvil.js')
  const {approve} = await load('chain/approve.js')
  const {challengeBlock} = await load('chain/block.js')
  const {connect, disconnect} = await load('chain/client.js')
  const {jsonRpc} = await load('chain/rpc.js')
  const {deploy} = await load('chain/deploy.js')
  const {DEVNET_CHAIN_ID, DEVNET_DEPLOYER_KEY, devnetProfile} = await load('chain/devnet.js')
  const {registerHost} = await load('miner/register-host.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'unet-bench-'))
  const anvil = await startAnvil({port: 0, blockTime: options.blockTime, extraArgs: ['--chain-id', String(DEVNET_CHAIN_ID)]})
  // anvil_setBalance and anvil_mine answer null
  const rpc = (method, params = []) => jsonRpc(anvil.rpcUrl, method, params, {allowNull: true, timeoutMs: 120_000})
  let session
  try {
    const deployer = await connect(devnetProfile(anvil.rpcUrl), {privateKey: DEVNET_DEPLOYER_KEY})
    const deployed = await deploy(deployer, {verifier: deployer.signer.address, epochBlocks: options.epochBlocks, allowEmulator: true})
    const operatorKey = '0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    const contracts = {registry: deployed.poci, heartbeat: deployed.poci, rewards: deployed.poci, token: deployed.token}
    session = await openBenchSession({rpcUrl: anvil.rpcUrl, contracts, operatorKey, dataDir, engine: options.engine, tcti: options.tcti})
    const {client} = session
    await rpc('anvil_setBalance', [session.operator, '0x' + (1000n * 10n ** 18n).toString(16)])
    const registered = await registerHost(session, {waitMs: 0})
    await approve(deployer, {regId: registered.regId, power: 10n})
    return {
      anvil,
      rpcUrl: anvil.rpcUrl,
      deployer,
      poci: deployed.poci,
      contracts,
      operatorKey,
      session,
      dataDir,
      rpc,
      /** Mines to the first block of the next epoch. */
      async nextEpoch() {
        const cb = await challengeBlock(client)
        await rpc('anvil_mine', ['0x' + (cb.epochEndBlock - cb.blockNumber).toString(16)])
      },
      close() {
        session.close()
        disconnect(client)
        disconnect(deployer)
        anvil.stop()
        rmSync(dataDir, {recursive: true, force: true})
      },
    }
  } catch (error) {
    session?.close()
    anvil.stop()
    throw error
  }
}

/** A logger for the agent that lets a bench see state changes and confirmations as they happen. */
/** on: {state?(to, epoch), confirmed?(epoch), warn?(msg)} */
export function probeLogger(on) {
  return {
    debug(obj, msg) {
      if (msg === 'agent state') {
        const o = obj
        on.state?.(o.to, o.epoch)
      }
    },
    info(obj, msg) {
      if (msg === 'heartbeat confirmed') on.confirmed?.(obj.epoch)
    },
    warn(_obj, msg) {
      on.warn?.(msg ?? '')
    },
    error(_obj, msg) {
      on.warn?.(msg ?? '')
    },
  }
}

export const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** The one line scripts/bench.mjs reads back from each bench process. */
export function report(result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`)
}
