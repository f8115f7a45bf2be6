import {Flags} from '@oclif/core'

import type {RegisterOutcome} from '../miner/register-host.js'
import type {DeviceRegisterOutcome} from '../miner/register-devices.js'
import {MinerCommand} from '../cli/miner-command.js'
import {walletInfo} from '../keys/wallet.js'
import {configuredPayout} from '../miner/miner-session.js'
import {checkPayoutPolicy} from '../miner/payout-policy.js'

export default class Register extends MinerCommand<typeof Register> {
  static override summary = "bind this host's attestation key to the operator on chain"
  static override description =
    "Quotes a registration challenge (chain id, contract, operator, payout, device id, host id, the key's registration nonce) with the host " +
    'security engine, sends the register transaction (with the registration deposit) and the evidence for the verifier, and waits on that ' +
    "registration until the verifier approves or rejects it; a TPM host answers the verifier's credential challenge (TPM2_ActivateCredential) " +
    'on the way. Once the host is approved, every accelerator with its own key (Sophgo chips: RSA-2048; NVIDIA GPUs in CC mode: P-384) is ' +
    'registered under it, each with its own proof over its own challenge, and reported per device. Re-running is harmless: bound devices are ' +
    'reported and a pending registration is resumed, not sent again. Outside the devnet a payout equal to the operator address is refused ' +
    'unless --allow-operator-payout is given.'
  static override examples = ['<%= config.bin %> register', '<%= config.bin %> register --json --wait 60']
  static override flags = {
    wait: Flags.integer({description: 'seconds to wait for the verifier to decide (0: do not wait)', default: 30, min: 0}),
    'allow-operator-payout': Flags.boolean({
      description: 'outside the devnet: accept payout = the operator address (a stolen operator key would then hold the rewards)',
    }),
  }

  async run(): Promise<{devices: Array<RegisterOutcome | DeviceRegisterOutcome>; skipped?: Array<{device: string; reason: string}>}> {
    this.checkPayout()
    const session = await this.openSession()
    const {registerHost} = await import('../miner/register-host.js')
    const waitMs = this.flags.wait * 1000
    const progress = await this.steps()
    progress.start('registering')
    const outcome = await registerHost(session, {waitMs, onProgress: (m) => progress.update(m)})
    progress.stop()
    const done = DEVICE_ACTION[outcome.action]
    this.log(`${done}: host ${outcome.deviceId} (${outcome.engine}) — ${stateOf(outcome)}`)
    if (outcome.txHash) this.log(`  tx ${outcome.txHash}`)
    this.log(`  registration ${outcome.regId}, payout ${outcome.payout}`)
    if (outcome.reason) this.log(`  ${outcome.reason}`)
    if (!outcome.approved) {
      if (outcome.status === 'pending')
        this.log('accelerators register once the host is approved: run `unet register` again later (it resumes this registration)')
      return {devices: [outcome]}
    }

    // accelerators with their own key, under the approved host (none on most hosts: output unchanged)
    const {registerDevices} = await import('../miner/register-devices.js')
    const {deviceLocatorOf} = await import('../miner/attest-devices.js')
    progress.start('probing accelerators')
    const accel = await registerDevices(session, deviceLocatorOf(this.resolved.config), {waitMs, onProgress: (m) => progress.update(m)})
    progress.stop()
    for (const d of accel.devices) {
      this.log(`${DEVICE_ACTION[d.action]}: ${d.kind} ${d.deviceId} (${d.device}) — ${stateOf(d)}`)
      if (d.txHash) this.log(`  tx ${d.txHash}`)
      if (d.reason) this.log(`  ${d.reason}`)
    }
    for (const s of accel.skipped) this.log(`not registered: ${s.device} — ${s.reason}`)
    return {devices: [outcome, ...accel.devices], ...(accel.skipped.length > 0 ? {skipped: accel.skipped} : {})}
  }

  /** Payout = operator outside the devnet: refused before the wallet is unlocked or anything is sent. */
  private checkPayout(): void {
    const {config, profile, paths} = this.resolved
    const wallet = walletInfo(paths.dataDir)
    if (!wallet) return // the session says what is missing
    const warning = checkPayoutPolicy({
      network: profile.name,
      operator: wallet.address,
      payout: configuredPayout(config, wallet.address),
      allowOperatorPayout: this.flags['allow-operator-payout'],
    })
    if (warning) this.warning(warning)
  }
}

/** How `unet register` names what it did with a host or device. */
const DEVICE_ACTION: Record<DeviceRegisterOutcome['action'], string> = {
  registered: 'registered',
  resumed: 'resumed',
  'already-registered': 'already registered',
  'bound-elsewhere': 'bound elsewhere',
  failed: 'FAILED',
}

function stateOf(o: {action: string; approved: boolean; power: string; status: string}): string {
  // bound elsewhere: its binding's status is 'approved', but it earns for the other host
  if (o.action === 'bound-elsewhere') return 'not earning under this host'
  if (o.approved) return `approved, power ${o.power}`
  return o.status === 'pending' ? 'waiting for the verifier' : o.status
}
