import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {checkValue, configFilePath, envVarName, parseValue, ruleFor, setHint, unknownKeyProblem, updateConfigFile} from '../../config/index.js'
import {ConfigError, InputError} from '../../errors/index.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static override summary = 'set a key in the config file (the whole file is validated before it is written)'
  static override description =
    'Works even when the config file is invalid today (an unknown key, a bad value): that is how a bad config is repaired from the ' +
    'command line. The result must be valid as a whole, e.g. `network` must name a built-in or defined network; otherwise nothing is ' +
    'written. An invalid file that gets replaced is kept as config.json.bak-<time>.'
  static override args = {
    key: Args.string({required: true, description: 'dotted key'}),
    value: Args.string({required: false, description: 'value; lists are comma-separated or JSON'}),
  }
  static override flags = {unset: Flags.boolean({description: 'remove the key from the file (same as `unet config unset`)'})}
  static override examples = [
    '<%= config.bin %> config set payout 0x52908400098527886E0F7030069857D2E4169EE7',
    '<%= config.bin %> config set networks.testnet.chainId 8899',
  ]

  /** The way out of a broken config must not need a valid one. */
  static readsConfig = false

  async run() {
    const {key, value: raw} = this.args
    if (this.flags.unset) return writeKey(this, key, undefined)
    const rule = ruleFor(key)
    if (!rule) {
      const unknown = unknownKeyProblem(key)
      throw new InputError(unknown.message, {hint: unknown.hint})
    }
    // oclif fills a missing argument from piped stdin: only a value on the real command line is refused
    if (rule.secret && raw !== undefined && process.argv.slice(2).includes(raw))
      throw new InputError(`${key} is a secret: it is not taken on the command line (argv is visible to other users)`, {
        hint: `pipe it in: \`unet config set ${key} < file\`, or set ${envVarName(key)}`,
      })
    const text = rule.secret ? (raw?.replace(/\r?\n$/, '') ?? (await readStdin())) : raw
    if (text === undefined || text === '')
      throw new InputError(rule.secret ? `no value for ${key} on stdin` : `a value is required for ${key}`, {hint: setHint(key, rule)})
    const value = parseValue(rule, text)
    const reason = checkValue(rule, value)
    if (reason) throw new ConfigError(`not written: key "${key}" ${rule.secret ? 'is invalid' : reason}`, {hint: setHint(key, rule)})
    return writeKey(this, key, value, rule.secret)
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

/** Writes (or, value undefined, removes) one key and says what happened; shared with `config unset`. */
export function writeKey(
  command: {config: {configDir: string}; log(line: string): void; logToStderr(line: string): void},
  key: string,
  value: unknown,
  secret = false,
): {key: string; value: unknown; file: string; backup?: string} {
  const file = configFilePath(command.config.configDir)
  const {backup, remaining} = updateConfigFile(file, key, value)
  if (backup) command.logToStderr(`Notice: the previous config file was invalid; kept as ${backup}`)
  if (remaining) command.logToStderr(`Warning: ${file} is still invalid: ${remaining.message} (${remaining.hint})`)
  const shown = secret ? '[set, hidden]' : value
  command.log(value === undefined ? `removed ${key} from ${file}` : `${key} = ${secret ? shown : JSON.stringify(value)} (${file})`)
  return {key, value: shown ?? null, file, ...(backup ? {backup} : {})}
}
