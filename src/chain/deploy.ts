import {ContractFactory, type Contract} from 'ethers'

import {loadArtifact} from './artifacts.js'
import {attachPoci, requireSigner, type ChainClient} from './client.js'
import {minedReceipt, toUnetError} from './tx.js'

export interface DeployParams {
  /** Address of the verifier role (approves devices). */
  verifier: string
  /** Epoch length in blocks (1..256: every block of an epoch keeps a readable blockhash). */
  epochBlocks: number | bigint
  /** UNC (wei) per unit of approved power per credited epoch. */
  rewardPerPowerEpoch?: bigint
  /** Accept emulator devices (devnet only). */
  allowEmulator: boolean
  /** Blocks between proposing a new verifier and its taking over. */
  verifierDelay?: number | bigint
  /** Native value a registration carries (refunded on approval, paid to the verifier on rejection). */
  registrationDeposit?: bigint
  /** Native value a challenge carries (returned on a slash, paid to the answerer otherwise). */
  challengeDeposit?: bigint
  /** An already deployed P384Verifier to reuse (deployed fresh otherwise). */
  p384Verifier?: string
}

export interface DeployResult {
  poci: string
  token: string
  p384Verifier: string
  txHash: string
  blockNumber: number
  gasUsed: bigint
  epochBlocks: bigint
  rewardPerPowerEpoch: bigint
  allowEmulator: boolean
  registrationDeposit: bigint
  challengeDeposit: bigint
}

const DEFAULT_REWARD_PER_POWER_EPOCH = 10n ** 15n
const DEFAULT_VERIFIER_DELAY = 100n
const DEFAULT_REGISTRATION_DEPOSIT = 10n ** 15n
const DEFAULT_CHALLENGE_DEPOSIT = 10n ** 16n

async function deployArtifact(
  client: ChainClient,
  name: 'Poci' | 'P384Verifier',
  args: unknown[],
): Promise<{contract: Contract; hash: string; blockNumber: number; gasUsed: bigint}> {
  const artifact = loadArtifact(name)
  const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, requireSigner(client))
  const contract = (await factory.deploy(...args)) as Contract
  const receipt = await minedReceipt(client, contract.deploymentTransaction()!.hash, `deploy ${name}`)
  return {contract, hash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed}
}

/** Deploys the P-384 verifier (unless given) and Poci (which deploys its UNC token), and attaches Poci to the client. */
export async function deploy(client: ChainClient, params: DeployParams): Promise<DeployResult> {
  const reward = params.rewardPerPowerEpoch ?? DEFAULT_REWARD_PER_POWER_EPOCH
  const registrationDeposit = params.registrationDeposit ?? DEFAULT_REGISTRATION_DEPOSIT
  const challengeDeposit = params.challengeDeposit ?? DEFAULT_CHALLENGE_DEPOSIT
  try {
    const p384Verifier = params.p384Verifier ?? (await (await deployArtifact(client, 'P384Verifier', [])).contract.getAddress())
    const deployed = await deployArtifact(client, 'Poci', [
      params.verifier,
      BigInt(params.epochBlocks),
      reward,
      params.allowEmulator,
      p384Verifier,
      BigInt(params.verifierDelay ?? DEFAULT_VERIFIER_DELAY),
      registrationDeposit,
      challengeDeposit,
    ])
    const poci = await deployed.contract.getAddress()
    const token = (await deployed.contract.getFunction('token').staticCall()) as string
    attachPoci(client, poci, token)
    return {
      poci,
      token,
      p384Verifier,
      txHash: deployed.hash,
      blockNumber: deployed.blockNumber,
      gasUsed: deployed.gasUsed,
      epochBlocks: BigInt(params.epochBlocks),
      rewardPerPowerEpoch: reward,
      allowEmulator: params.allowEmulator,
      registrationDeposit,
      challengeDeposit,
    }
  } catch (error) {
    throw toUnetError(error, 'deploy')
  }
}
