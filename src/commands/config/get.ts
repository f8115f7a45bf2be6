import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {displayValue, getPath, ruleFor, unknownKeyProblem} from '../../config/index.js'
import {InputError} from '../../errors/index.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static override summary = 'print the resolved value of one config key'
  static override args = {key: Args.string({required: true, description: 'dotted key, e.g. network or networks.devnet.chainId'})}

  async run() {
    const {key} = this.args
    const {config, sources} = this.resolved
    const rule = ruleFor(key)
    if (!rule) {
      const unknown = unknownKeyProblem(key)
      throw new InputError(unknown.message, {hint: unknown.hint})
    }
    const value = displayValue(rule, getPath(config, key)) ?? undefined
    this.log(value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value))
    return {key, value: value ?? null, source: sources[key] ?? 'default'}
  }
}
