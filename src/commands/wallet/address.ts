import {BaseCommand} from '../../cli/base-command.js'
import {requireWallet} from '../../keys/wallet.js'

export default class WalletAddress extends BaseCommand<typeof WalletAddress> {
  static override summary = 'print the operator address and the payout address'

  async run() {
    const info = requireWallet(this.resolved.paths.dataDir)
    const payout = this.resolved.config.payout ?? null
    this.log(`operator: ${info.address}`)
    this.log(`payout:   ${payout ?? `${info.address} (not set: rewards go to the operator; set one with \`unet config set payout ADDRESS\`)`}`)
    return {operator: info.address, payout: payout ?? info.address, payoutConfigured: payout !== null, backend: info.backend}
  }
}
