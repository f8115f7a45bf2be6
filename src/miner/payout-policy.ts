/**
 * Payout = operator is refused outside the devnet (issue 9, attack 7): the operator key lives on the
 * mining machine, so if the rewards go to the same address a thief of that key holds them too. On chain
 * the payout can only be moved by the payout key (setPayout), so a separate payout address kept off
 * the machine is what protects the rewards.
 */
import {InputError} from '../errors/index.js'

const ALLOW_OPERATOR_PAYOUT_FLAG = '--allow-operator-payout'

export interface PayoutPolicyInput {
  network: string
  operator: string
  payout: string
  /** --allow-operator-payout: the miner accepts the risk. */
  allowOperatorPayout: boolean
}

/** Throws on payout = operator outside the devnet; returns the warning to print when it is forced, else undefined. */
export function checkPayoutPolicy(p: PayoutPolicyInput): string | undefined {
  if (p.network === 'devnet' || p.payout.toLowerCase() !== p.operator.toLowerCase()) return undefined
  if (!p.allowOperatorPayout)
    throw new InputError(`payout ${p.payout} is the operator address on network "${p.network}": whoever steals the operator key would hold the rewards too`, {
      hint: `set a payout address whose key is not on this machine (\`unet init --payout ADDR\` or \`unet config set payout ADDR\`), or pass ${ALLOW_OPERATOR_PAYOUT_FLAG} to accept the risk`,
    })
  return `payout is the operator address on network "${p.network}" (${ALLOW_OPERATOR_PAYOUT_FLAG}): a stolen operator key would hold the rewards too`
}
