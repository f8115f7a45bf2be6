import {BaseCommand} from '../../cli/base-command.js'
import {configFilePath, resetConfigFile} from '../../config/index.js'

export default class ConfigReset extends BaseCommand<typeof ConfigReset> {
  static override summary = 'start over with the built-in defaults: the config file is moved to config.json.bak-<time>, not deleted'
  static override examples = ['<%= config.bin %> config reset']

  /** The last way out of a config file that cannot even be parsed. */
  static readsConfig = false

  async run() {
    const file = configFilePath(this.config.configDir)
    const {backup} = resetConfigFile(file)
    this.log(backup ? `moved ${file} to ${backup}; the built-in defaults apply` : `no config file at ${file}; the built-in defaults apply`)
    return {file, backup: backup ?? null}
  }
}
