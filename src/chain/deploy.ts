import {ContractFactory, type Contract} from 'ethers'

import {loadArtifact} from './artifacts.js'
import {attachPoci, requireSigner, type ChainClient} from './client.js'
import {toUnetError} from './tx.js'

export interface DeployParams {
  /** Address of the verifier role (approves devices). */
  verifier: string
  epochSeconds: number | bigint
  /** Oldest challenge block accepted, in blocks (1..256). */
  maxBlockAge?: number | bigint
  /** UNC (wei) per unit of approved power per credited epoch. */
  rewardPerPowerEpoch?: bigint
  /** Accept emulator devices (devnet only). */
  allowEmulator: boolean
}

export interface DeployResult {
  poci: string
  token: string
  txHash: string
  blockNumber: number
  gasUsed: bigint
  epochSeconds: bigint
  maxBlockAge: bigint
  rewardPerPowerEpoch: bigint
  allowEmulator: boolean
}

export const DEFAULT_MAX_BLOCK_AGE = 64n
export const DEFAULT_REWARD_PER_POWER_EPOCH = 10n ** 15n

/** Deploys Poci (which deploys its UNC token) and attaches it to the client. */
export async function deploy(client: ChainClient, params: DeployParams): Promise<DeployResult> {
  const signer = requireSigner(client)
  const artifact = loadArtifact('Poci')
  const maxBlockAge = BigInt(params.maxBlockAge ?? DEFAULT_MAX_BLOCK_AGE)
  const reward = params.rewardPerPowerEpoch ?? DEFAULT_REWARD_PER_POWER_EPOCH
  try {
    const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, signer)
    const contract = (await factory.deploy(params.verifier, BigInt(params.epochSeconds), maxBlockAge, reward, params.allowEmulator)) as Contract
    const receipt = await contract.deploymentTransaction()!.wait()
    const poci = await contract.getAddress()
    const token = (await contract.getFunction('token').staticCall()) as string
    attachPoci(client, poci, token)
    return {
      poci,
      token,
      txHash: receipt!.hash,
      blockNumber: receipt!.blockNumber,
      gasUsed: receipt!.gasUsed,
      epochSeconds: BigInt(params.epochSeconds),
      maxBlockAge,
      rewardPerPowerEpoch: reward,
      allowEmulator: params.allowEmulator,
    }
  } catch (error) {
    throw toUnetError(error, 'deploy')
  }
}
