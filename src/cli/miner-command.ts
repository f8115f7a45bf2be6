import {Flags, type Command} from '@oclif/core'

import type {MinerSession} from '../miner/miner-session.js'
import {BaseCommand} from './base-command.js'

/**
 * Base of the commands that use the host security engine (attest, register, heartbeat, quickstart):
 * the engine flags, and one way to open the miner session (wallet, chain, engine) and always close it.
 */
export abstract class MinerCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    engine: Flags.string({description: 'host security engine (default: config key engine)', options: ['auto', 'tpm2', 'emulator'], helpGroup: 'ENGINE'}),
    tcti: Flags.string({
      description: 'TPM transport, e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321 (default: config key tcti)',
      helpGroup: 'ENGINE',
    }),
  }

  private session?: MinerSession

  protected override configFlagOverrides(): Record<string, string | undefined> {
    const flags = this.flags as {engine?: string; tcti?: string}
    return {engine: flags.engine, tcti: flags.tcti}
  }

  protected async openSession(): Promise<MinerSession> {
    const {openMinerSession} = await import('../miner/miner-session.js')
    this.session = await openMinerSession(this.resolved, {
      passphrase: () => this.operatorPassphrase(),
      // Loud even with --json: a miner must never mistake the emulator for real hardware.
      onNotice: (message) => this.warning(message),
    })
    return this.session
  }

  public override async finally(error: Error | undefined): Promise<void> {
    this.session?.close()
    if (this.session) {
      const {disconnect} = await import('../chain/client.js')
      disconnect(this.session.client)
    }
    await super.finally(error)
  }
}
