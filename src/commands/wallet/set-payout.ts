import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {requireChainReady} from '../../config/index.js'
import {ExitCode, InputError, UnetError} from '../../errors/index.js'
import {parseAddress} from '../../keys/address.js'
import {decryptKeystore, keystoreAddress} from '../../keys/keystore.js'
import {getPassphrase} from '../../keys/passphrase.js'

export interface SetPayoutResult {
  hostId: string
  previous: string
  payout: string
  txHash: string
}

export default class WalletSetPayout extends BaseCommand<typeof WalletSetPayout> {
  static override summary = "move a host's rewards to a new payout address (signed by the CURRENT payout key)"
  static override description =
    "The contract lets only the current payout address change a host's payout, so a stolen operator key cannot redirect rewards. " +
    'The current payout key comes from a Web3 Secret Storage keystore file (--keystore), never from the command line; its passphrase ' +
    'from UNET_PAYOUT_PASSWORD, UNET_PAYOUT_PASSWORD_FILE (a 0600 file) or a prompt. That key pays the gas.'
  static override examples = ['UNET_PAYOUT_PASSWORD_FILE=~/.payout-pass <%= config.bin %> wallet set-payout --host 0x… --payout 0x… --keystore payout.json']
  static override flags = {
    host: Flags.string({description: 'the host id (its deviceId on chain)', required: true}),
    payout: Flags.string({description: 'the new payout address', required: true}),
    keystore: Flags.string({description: 'keystore file of the CURRENT payout key', required: true}),
  }

  async run(): Promise<SetPayoutResult> {
    const profile = requireChainReady(this.resolved.profile)
    const hostId = this.flags.host.toLowerCase()
    if (!/^0x[0-9a-f]{64}$/.test(hostId)) throw new InputError(`--host is not a host id (0x and 64 hex digits): ${JSON.stringify(this.flags.host)}`)
    const payout = parseAddress(this.flags.payout, '--payout')
    let json: unknown
    try {
      json = JSON.parse(readFileSync(this.flags.keystore, 'utf8'))
    } catch (error) {
      throw new InputError(`cannot read the keystore ${this.flags.keystore}: ${(error as Error).message}`)
    }
    const signer = keystoreAddress(json)

    const {connect, disconnect, withClient} = await import('../../chain/client.js')
    const {deviceState} = await import('../../chain/device-state.js')
    const {setPayout} = await import('../../chain/admin.js')
    const previous = await withClient(profile, async (reader) => {
      const host = await deviceState(reader, hostId)
      if (host.status !== 'approved' || host.hostId?.toLowerCase() !== hostId) throw new UnetError(`${hostId} is not a bound host`, ExitCode.NOT_REGISTERED)
      return host.payout
    })
    // checked before any passphrase: the contract would revert NotPayout anyway
    if (!signer || signer.toLowerCase() !== previous?.toLowerCase())
      throw new UnetError(
        `the keystore holds ${signer ?? 'an unknown address'}, but only the current payout address ${previous} may change the payout`,
        ExitCode.TX_REJECTED,
        {
          hint: "pass the current payout key's keystore with --keystore",
        },
      )

    const env = {UNET_PASSWORD: process.env.UNET_PAYOUT_PASSWORD, UNET_PASSWORD_FILE: process.env.UNET_PAYOUT_PASSWORD_FILE}
    const passphrase = await getPassphrase({env, purpose: `the payout keystore ${this.flags.keystore}`}).catch((error: unknown) => {
      if (!(error instanceof InputError) || !/^no passphrase given/.test(error.message)) throw error
      throw new InputError('no passphrase given for the payout keystore', {
        hint: 'set UNET_PAYOUT_PASSWORD_FILE to a 0600 file holding it (or UNET_PAYOUT_PASSWORD), or run on a terminal to be asked',
      })
    })
    const {secretKey} = decryptKeystore(json, passphrase)
    const client = await connect(profile, {privateKey: secretKey})
    secretKey.fill(0)
    try {
      const tx = await setPayout(client, {hostId, payout})
      this.log(`payout of host ${hostId}: ${previous} → ${payout} (tx ${tx.txHash})`)
      return {hostId, previous: previous!, payout, txHash: tx.txHash}
    } finally {
      disconnect(client)
    }
  }
}
