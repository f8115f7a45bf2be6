import {Flags} from '@oclif/core'

import type {RegisterOutcome} from '../miner/register-host.js'
import type {DeviceRegisterOutcome} from '../miner/register-devices.js'
import {MinerCommand} from '../cli/miner-command.js'
import {spinner} from '../cli/spinner.js'

export default class Register extends MinerCommand<typeof Register> {
  static override summary = "bind this host's attestation key to the operator on chain"
  static override description =
    'Quotes a registration challenge (chain id, contract, operator, payout, device id) with the host security engine, sends the ' +
    'register transaction with the evidence for the verifier, and waits for the approval. Then every accelerator with its own key ' +
    '(Sophgo chips: RSA-2048; NVIDIA GPUs in CC mode: P-384) is registered attached to the host, one by one, each with its own ' +
    'proof over its own challenge, and reported per device. Re-running is harmless: it reports the state.'
  static override examples = ['<%= config.bin %> register', '<%= config.bin %> register --json --wait 60']
  static override flags = {
    wait: Flags.integer({description: 'seconds to wait for the verifier to approve (0: do not wait)', default: 30, min: 0}),
  }

  async run(): Promise<{devices: Array<RegisterOutcome | DeviceRegisterOutcome>; skipped?: Array<{device: string; reason: string}>}> {
    const session = await this.openSession()
    const {registerHost} = await import('../miner/register-host.js')
    const progress = await spinner(!this.jsonEnabled(), 'registering')
    try {
      const outcome = await registerHost(session, {waitMs: this.flags.wait * 1000, onProgress: (m) => progress.update(m)})
      progress.stop()
      const state = outcome.approved ? `approved, power ${outcome.power}` : outcome.status === 'pending' ? 'waiting for the verifier' : outcome.status
      this.log(`${outcome.action === 'registered' ? 'registered' : 'already registered'}: host ${outcome.deviceId} (${outcome.engine}) — ${state}`)
      if (outcome.txHash) this.log(`  tx ${outcome.txHash}`)
      this.log(`  payout ${outcome.payout}`)
      if (outcome.status === 'none') return {devices: [outcome]}
      // accelerators with their own key, attached to this host (none on most hosts: output unchanged)
      const {registerDevices} = await import('../miner/register-devices.js')
      const {deviceLocatorOf} = await import('../miner/attest-devices.js')
      const devProgress = await spinner(!this.jsonEnabled(), 'probing accelerators')
      const accel = await registerDevices(session, deviceLocatorOf(this.resolved.config), {waitMs: this.flags.wait * 1000, onProgress: (m) => devProgress.update(m)}).finally(() => devProgress.stop())
      for (const d of accel.devices) {
        const state = d.approved ? `approved, power ${d.power}` : d.status === 'pending' ? 'waiting for the verifier' : d.status
        this.log(`${d.action === 'failed' ? 'FAILED' : d.action === 'registered' ? 'registered' : 'already registered'}: ${d.kind} ${d.deviceId} (${d.device}) — ${state}`)
        if (d.txHash) this.log(`  tx ${d.txHash}`)
        if (d.reason) this.log(`  ${d.reason}`)
      }
      for (const s of accel.skipped) this.log(`not registered: ${s.device} — ${s.reason}`)
      return {devices: [outcome, ...accel.devices], ...(accel.skipped.length > 0 ? {skipped: accel.skipped} : {})}
    } catch (error) {
      progress.fail()
      throw error
    }
  }
}
