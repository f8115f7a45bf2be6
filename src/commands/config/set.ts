import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {checkValue, envVarName, parseValue, ruleFor, updateConfigFile} from '../../config/index.js'
import {ConfigError, InputError} from '../../errors/index.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static override summary = 'set a key in the config file (validated before it is written)'
  static override args = {
    key: Args.string({required: true, description: 'dotted key'}),
    value: Args.string({required: false, description: 'value; lists are comma-separated or JSON'}),
  }
  static override flags = {unset: Flags.boolean({description: 'remove the key from the file'})}
  static override examples = [
    '<%= config.bin %> config set payout 0x52908400098527886E0F7030069857D2E4169EE7',
    '<%= config.bin %> config set networks.testnet.chainId 8899',
  ]

  async run() {
    const {key, value: raw} = this.args
    const rule = ruleFor(key)
    if (!rule) throw new InputError(`unknown config key "${key}"`, {hint: 'run `unet config list` to see the keys'})
    const file = this.resolved.paths.configFile
    if (this.flags.unset) {
      updateConfigFile(file, key, undefined)
      this.log(`removed ${key} from ${file}`)
      return {key, value: null, file}
    }
    if (rule.secret && raw !== undefined)
      throw new InputError(`${key} is a secret: it is not taken on the command line (argv is visible to other users)`, {
        hint: `pipe it in: \`unet config set ${key} < file\`, or set ${envVarName(key)}`,
      })
    const text = rule.secret ? await readStdin() : raw
    if (text === undefined || text === '') throw new InputError(rule.secret ? `no value for ${key} on stdin` : 'a value is required (or --unset)')
    const value = parseValue(rule, text)
    const reason = checkValue(rule, value)
    if (reason) throw new ConfigError(`key "${key}" ${reason}`, {hint: rule.description})
    updateConfigFile(file, key, value)
    this.log(`${key} = ${rule.secret ? '[set, hidden]' : JSON.stringify(value)} (${file})`)
    return {key, value: rule.secret ? '[set, hidden]' : value, file}
  }
}

/** The secret from a pipe (never a TTY prompt echoing it); one trailing newline dropped. */
async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}
