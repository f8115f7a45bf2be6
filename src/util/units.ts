/**
 * The two assets a miner sees, each with one name everywhere (status, doctor, quickstart, logs, docs):
 * rewards are UNC, the POCI ERC-20 (contracts/src/UncToken.sol, minted by Poci); gas is paid in the
 * chain's native coin, which the devnet (anvil) calls ETH. They are different balances, so they never
 * share a name.
 */
export const REWARD_TOKEN = {symbol: 'UNC', decimals: 18} as const
export const GAS_COIN = {symbol: 'ETH', decimals: 18} as const

/** Fixed-point formatting of a token amount, trimming trailing zeros (1500000000000000000n, 18 → "1.5"). */
export function formatUnits(amount: bigint, decimals: number, maxFraction = 6): string {
  const negative = amount < 0n
  const abs = negative ? -amount : amount
  const base = 10n ** BigInt(decimals)
  const whole = abs / base
  let fraction = (abs % base).toString().padStart(decimals, '0').slice(0, maxFraction).replace(/0+$/, '')
  if (fraction === '' && abs % base !== 0n) fraction = '0'.repeat(Math.max(0, maxFraction - 1)) + '1'
  return `${negative ? '-' : ''}${whole}${fraction ? '.' + fraction : ''}`
}

/** An amount of the gas coin: "1.5 ETH". */
export const formatGas = (wei: bigint): string => `${formatUnits(wei, GAS_COIN.decimals)} ${GAS_COIN.symbol}`

/** A gas price in gwei (10^9 of the coin's smallest unit per unit of gas): "1.5 gwei/gas". */
export const formatGasPrice = (weiPerGas: bigint): string => `${formatUnits(weiPerGas, 9)} gwei/gas`
