import {closeSync, mkdirSync, openSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import type {ChainClient} from '../../chain/client.js'
import {requireChainReady} from '../../config/index.js'
import type {NetworkProfile} from '../../config/schema.js'
import {ExitCode, InputError, UnetError} from '../../errors/index.js'
import {decryptKeystore} from '../../keys/keystore.js'
import {getPassphrase} from '../../keys/passphrase.js'
import {assertPrivateFile} from '../../util/files.js'
import {bytesToHex} from '../../util/hex.js'
import type {VerifierMetricsServer} from '../../verifier/metrics.js'
import type {RunVerifierOptions, VerifierRecord} from '../../verifier/service.js'

export interface VerifierRunResult {
  verifier: string
  network: string
  decisionsFile: string
  cursorFile: string
  nextBlock: number
}

export default class VerifierRun extends BaseCommand<typeof VerifierRun> {
  static override summary = 'run the verifier role: decide registrations, activate TPM credentials, spot-check committed heartbeats'
  static override description = `Scans Registered events from a cursor (<dataDir>/verifier/cursor.json), decides each pending registration with the
network profile's policy and trust roots (the same pure decision \`unet verifier audit\` recomputes; p384 registrations get the
NVIDIA full check: RIMs from nvidia.rimDir, OCSP of the GPU and RIM chains as nvidia.ocsp says, whose answers are recorded
with the decision, and CC mode / DevTools where nvidia.requireCc), posts the credential
challenge of TPM hosts and approves them once the operator answered it (rejected after --activation-timeout-blocks), and
approves or rejects the rest. Every decision is appended to --decisions as one JSON line. With --spot-check-rate > 0 it
challenges a random share of committed (P-384) heartbeats and slashes unanswered challenges.
The verifier key comes from --keystore (a Web3 keystore, mode 0600), its passphrase from UNET_PASSWORD / UNET_PASSWORD_FILE
or a prompt, never from argv; on the devnet without --keystore the devnet's verifier key is used. Stops cleanly on SIGTERM/SIGINT.`
  static override examples = [
    'UNET_PASSWORD_FILE=~/.verifier-pass <%= config.bin %> verifier run --network testnet --keystore ~/verifier.json --metrics 127.0.0.1:9465',
    '<%= config.bin %> verifier run --from-block 1200 --spot-check-rate 0',
  ]
  static override flags = {
    keystore: Flags.string({description: 'Web3 keystore file of the verifier key (0600); default on the devnet: the devnet verifier key'}),
    'from-block': Flags.integer({description: 'first block to scan when there is no cursor yet (default: the devnet deployment block, else 0)', min: 0}),
    decisions: Flags.string({description: 'decisions log, JSON lines (default: <dataDir>/verifier/decisions.jsonl)'}),
    metrics: Flags.string({description: 'serve Prometheus metrics on host:port (or a bare port on 127.0.0.1)'}),
    'spot-check-rate': Flags.string({description: 'probability a committed heartbeat is challenged, 0..1 (0 turns spot checks off)', default: '0.0625'}),
    'activation-timeout-blocks': Flags.integer({description: 'blocks an operator has to answer a credential challenge (default: 20 epochs)', min: 1}),
    'poll-ms': Flags.integer({description: 'milliseconds between scans', default: 2000, min: 50}),
  }

  async run(): Promise<VerifierRunResult> {
    const {paths} = this.resolved
    const profile = requireChainReady(this.resolved.profile)
    const spotCheckRate = this.spotCheckRate()
    const [{connect, disconnect}, {verifierRole}, {policyFromProfile, defaultFromBlock}, {verifierDecisionsFile}] = await Promise.all([
      import('../../chain/client.js'),
      import('../../chain/verifier-reads.js'),
      import('../../verifier/policy.js'),
      import('../../verifier/records.js'),
    ])
    const policy = policyFromProfile(profile)
    const client = await connect(profile, {privateKey: await this.verifierKey(profile)})
    const stopping = stopOnSignals()
    const decisionsFile = this.flags.decisions ?? verifierDecisionsFile(paths.dataDir)
    const cursorFile = join(paths.dataDir, 'verifier', 'cursor.json')
    // what the finally closes: only what was opened before a failure
    const open: {log?: number; metricsServer?: VerifierMetricsServer} = {}
    let nextBlock = 0
    try {
      assertVerifier(client.signer!.address, await verifierRole(client))
      open.metricsServer = await this.startMetrics()
      open.log = openDecisionsLog(decisionsFile)
      this.statusLine(`verifier: ${client.signer!.address} on ${profile.name}, decisions → ${decisionsFile}`)
      const fromBlock = this.flags['from-block'] ?? defaultFromBlock(profile, paths.dataDir)
      const metrics = open.metricsServer?.metrics
      nextBlock = await this.decideUntilStopped(client, open.log, {policy, cursorFile, fromBlock, spotCheckRate, signal: stopping.signal, metrics})
    } finally {
      stopping.release()
      if (open.log !== undefined) closeSync(open.log)
      await open.metricsServer?.close()
      disconnect(client)
    }
    this.statusLine('verifier: stopped')
    return {verifier: client.signer!.address, network: profile.name, decisionsFile, cursorFile, nextBlock}
  }

  /** --spot-check-rate, a probability in 0..1. */
  private spotCheckRate(): number {
    const rate = Number(this.flags['spot-check-rate'])
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new InputError(`--spot-check-rate ${this.flags['spot-check-rate']} is not a probability in 0..1`)
    return rate
  }

  /** The Prometheus server of --metrics; undefined without the flag. */
  private async startMetrics(): Promise<VerifierMetricsServer | undefined> {
    if (!this.flags.metrics) return undefined
    const {startVerifierMetricsServer} = await import('../../verifier/metrics.js')
    const server = await startVerifierMetricsServer(await listenAddress(this.flags.metrics))
    this.statusLine(`verifier: metrics at ${server.url}`)
    return server
  }

  /** Runs the service until the signal; each record goes to the decisions log as one JSON line and to the status line. */
  private async decideUntilStopped(
    client: ChainClient,
    log: number,
    options: Pick<RunVerifierOptions, 'policy' | 'cursorFile' | 'fromBlock' | 'spotCheckRate' | 'signal' | 'metrics'>,
  ): Promise<number> {
    const {runVerifier, recordJson} = await import('../../verifier/service.js')
    const {nextBlock} = await runVerifier(client, {
      ...options,
      pollMs: this.flags['poll-ms'],
      activationTimeoutBlocks: this.flags['activation-timeout-blocks'],
      onRecord: (r) => {
        writeSync(log, recordJson(r) + '\n')
        this.statusLine(`verifier: ${describeRecord(r)}`)
      },
      onError: (error) => this.statusLine(`verifier: ${error.message}`),
    })
    return nextBlock
  }

  /** The verifier key: --keystore (passphrase from the environment or a prompt), or the devnet's own. */
  private async verifierKey(profile: NetworkProfile): Promise<string> {
    const file = this.flags.keystore
    if (!file) {
      if (profile.name !== 'devnet')
        throw new InputError(`network "${profile.name}" needs the verifier key: pass --keystore FILE`, {
          hint: 'a Web3 keystore (e.g. from `unet wallet export-keystore`); its passphrase from UNET_PASSWORD_FILE',
        })
      const {DEVNET_DEPLOYER_KEY} = await import('../../chain/devnet.js')
      return DEVNET_DEPLOYER_KEY
    }
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new InputError(`keystore ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    assertPrivateFile(file)
    const {secretKey} = decryptKeystore(text, await getPassphrase({purpose: 'the verifier keystore'}))
    return bytesToHex(secretKey)
  }
}

/** "127.0.0.1:9465", ":9465" (the agent's parseListen) or a bare "9465" (loopback). */
async function listenAddress(spec: string): Promise<{host: string; port: number}> {
  const {parseListen} = await import('../../util/metrics-http.js')
  return parseListen(/^\d{1,5}$/.test(spec.trim()) ? `:${spec.trim()}` : spec)
}

/** An abort signal raised by SIGTERM or SIGINT (the service stops cleanly); release() takes the listeners off again. */
function stopOnSignals(): {signal: AbortSignal; release(): void} {
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return {
    signal: controller.signal,
    release: () => {
      process.removeListener('SIGTERM', stop)
      process.removeListener('SIGINT', stop)
    },
  }
}

/** Only the contract's verifier role can decide: another key is refused before anything is opened. */
function assertVerifier(address: string, role: string): void {
  if (role.toLowerCase() !== address.toLowerCase())
    throw new UnetError(`${address} is not the verifier of this contract (${role})`, ExitCode.INPUT_INVALID, {
      hint: 'pass the keystore of the verifier role with --keystore',
    })
}

/** The decisions log, opened for appending (mode 0600), its folder made first. */
function openDecisionsLog(file: string): number {
  mkdirSync(join(file, '..'), {recursive: true})
  return openSync(file, 'a', 0o600)
}

/** A record's status line: the outcome and registration (with why, for a revert or a rejection), or the spot-checked host and epoch. */
function describeRecord(r: VerifierRecord): string {
  return r.type === 'decision'
    ? `${r.outcome} ${r.kind} ${r.regId}${r.revert ? ` (${r.revert})` : r.reasons.length && !r.approve ? ` (${r.reasons.join('; ')})` : ''}`
    : `${r.outcome} host ${r.hostId} epoch ${r.epoch}`
}
