import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {writeKey} from './set.js'

export default class ConfigUnset extends BaseCommand<typeof ConfigUnset> {
  static override summary = 'remove a key from the config file (its default applies again); works on an invalid file'
  static override args = {key: Args.string({required: true, description: 'dotted key, e.g. network or networks.testnet.chainId'})}
  static override examples = ['<%= config.bin %> config unset network']

  /** Removing the key that breaks the file is the usual way out, so it must not need a valid file. */
  static readsConfig = false

  async run() {
    return writeKey(this, this.args.key, undefined)
  }
}
