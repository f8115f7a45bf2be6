import {Flags} from '@oclif/core'

import {MinerCommand} from '../cli/miner-command.js'
import {epochLine} from '../cli/render/epoch-line.js'
import {ExitCode, UnetError} from '../errors/index.js'

export interface HeartbeatEpochView {
  epoch: string
  result: string
  reason?: string
  txHash?: string
  attempts: number
  recovered?: boolean
}

export default class Heartbeat extends MinerCommand<typeof Heartbeat> {
  static override summary = 'run the liveness loop: a fresh quote bound to a recent block, sent as a heartbeat every epoch'
  static override description =
    "Each epoch: pick a recent block, derive the challenge, quote the host security engine, check its own quote (signature under the AK, extraData = the challenge's " +
    'qualifying data; docs/architecture.md), send the heartbeat (EIP-1559, gas estimated with margin), wait for the receipt and journal the result. Failures back ' +
    'off with jitter and retry within the epoch; a persistent outbox makes restarts safe; SIGTERM/SIGINT stop cleanly. Epochs are counted in ' +
    'blocks: an epoch is not opened with fewer than 3 blocks left. At the start of each epoch it answers the challenges opened against the ' +
    "host's committed (P-384) evidence with the exchanges it kept. Meant to run as " +
    'a service (`unet service install`).'
  static override examples = [
    '<%= config.bin %> heartbeat',
    '<%= config.bin %> heartbeat --once --json',
    '<%= config.bin %> heartbeat --metrics 127.0.0.1:9464',
  ]
  static override flags = {
    once: Flags.boolean({description: "send one epoch's heartbeat and exit", exclusive: ['epochs']}),
    epochs: Flags.integer({description: 'run this many epochs and exit', min: 1}),
    metrics: Flags.string({description: 'serve Prometheus metrics on HOST:PORT, e.g. 127.0.0.1:9464'}),
  }

  async run(): Promise<{hostId: string; epochs: HeartbeatEpochView[]; stopped: string}> {
    const session = await this.openSession()
    const {runMinerAgent} = await import('../miner/run-miner.js')
    const style = this.style()
    const result = await runMinerAgent(session, {
      once: this.flags.once,
      epochs: this.flags.epochs,
      metricsListen: this.flags.metrics,
      logger: await this.logger(),
      onMetrics: (url) => this.statusLine(`metrics on ${url}`),
      // one line per epoch as it settles, not all at the end: this loop may run for weeks
      onEpoch: (e) => this.log(epochLine(e, style)),
    })
    const epochs = result.epochs.map((e) => ({
      epoch: e.epoch.toString(),
      result: e.result,
      reason: e.reason,
      txHash: e.txHash,
      attempts: e.attempts,
      recovered: e.recovered,
    }))
    if (result.signal) process.exitCode = ExitCode.INTERRUPTED
    const failed = epochs.filter((e) => e.result !== 'confirmed')
    if ((this.flags.once || this.flags.epochs) && failed.length === epochs.length && epochs.length > 0)
      throw new UnetError(`no heartbeat was confirmed: ${failed.at(-1)!.reason ?? failed.at(-1)!.result}`, ExitCode.TX_REJECTED, {
        hint: '`unet status --explain` shows why',
      })
    return {hostId: session.hostId, epochs, stopped: result.signal ?? result.stopped}
  }
}
