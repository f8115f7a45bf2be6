import {BaseCommand} from '../../cli/base-command.js'
import {formatUnits} from '../../util/units.js'
import {requireChainReady} from '../../config/index.js'
import {unlockWallet} from '../../keys/wallet.js'

export interface ClaimView {
  hostId: string
  payout: string
  amount: string
  formatted: string
  txHash: string | null
  skipped?: string
}

export default class RewardsClaim extends BaseCommand<typeof RewardsClaim> {
  static override summary = 'claim the accrued UNC of every host of this operator; it is paid to the payout address only'
  static override description =
    'Anyone may trigger a claim, but the contract pays only the payout address registered with the host, so a stolen operator key cannot redirect rewards. The operator key pays the gas.'
  static override examples = ['<%= config.bin %> rewards claim', '<%= config.bin %> rewards claim --json']

  async run(): Promise<{claims: ClaimView[]; total: string}> {
    const profile = requireChainReady(this.resolved.profile)
    const {secretKey, info} = await unlockWallet(this.resolved.paths.dataDir, () => this.operatorPassphrase())
    const {connect, disconnect} = await import('../../chain/client.js')
    const {getStatus} = await import('../../chain/status.js')
    const {claim} = await import('../../chain/claim.js')
    const client = await connect(profile, {privateKey: secretKey})
    secretKey.fill(0)
    try {
      const status = await getStatus(client, {operator: info.address})
      const hosts = new Map(status.devices.filter((d) => d.hostId).map((d) => [d.hostId!, d]))
      const claims: ClaimView[] = []
      let total = 0n
      for (const [hostId, host] of hosts) {
        if (host.claimable === 0n) {
          claims.push({hostId, payout: host.payout ?? '', amount: '0', formatted: '0', txHash: null, skipped: 'nothing accrued since the last claim'})
          continue
        }
        const r = await claim(client, {id: hostId})
        total += r.amount
        claims.push({hostId, payout: r.payout, amount: r.amount.toString(), formatted: formatUnits(r.amount, 18), txHash: r.txHash})
      }
      for (const c of claims)
        this.log(
          c.txHash
            ? `claimed ${c.formatted} UNC for host ${c.hostId.slice(0, 10)}… → ${c.payout} (tx ${c.txHash})`
            : `host ${c.hostId.slice(0, 10)}…: ${c.skipped}`,
        )
      if (claims.length === 0) this.log('no registered hosts for this operator: nothing to claim')
      return {claims, total: total.toString()}
    } finally {
      disconnect(client)
    }
  }
}
