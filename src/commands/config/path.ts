import {BaseCommand} from '../../cli/base-command.js'
import {configFilePath} from '../../config/index.js'

export default class ConfigPath extends BaseCommand<typeof ConfigPath> {
  static override summary = 'print where unet keeps its config, data and cache'

  /** Works even when the config file is broken: that is when people need the path. */
  static readsConfig = false

  async run() {
    const configDir = this.config.configDir
    const paths = {configDir, dataDir: this.config.dataDir, cacheDir: this.config.cacheDir, configFile: configFilePath(configDir)}
    this.log(paths.configFile)
    return paths
  }
}
