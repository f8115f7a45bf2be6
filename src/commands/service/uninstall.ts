import {Flags} from '@oclif/core'

import {defaultPlatform, defaultServiceDir, SERVICE_PLATFORMS, type ServicePlatform} from '../../service/service-files.js'
import {uninstallService} from '../../service/service-install.js'
import {BaseCommand} from '../../cli/base-command.js'

export default class ServiceUninstall extends BaseCommand<typeof ServiceUninstall> {
  static override summary = 'remove the heartbeat OS service file'
  static override examples = ['sudo <%= config.bin %> service uninstall', '<%= config.bin %> service uninstall --platform launchd']

  static override flags = {
    platform: Flags.string({description: 'service manager (default: this OS)', options: [...SERVICE_PLATFORMS]}),
    dir: Flags.string({aliases: ['unit-dir'], description: 'directory the file was installed into'}),
  }

  async run() {
    const platform = (this.flags.platform ?? defaultPlatform()) as ServicePlatform
    const result = await uninstallService(platform, this.flags.dir ?? defaultServiceDir(platform, {dataDir: this.resolved.paths.dataDir}))
    if (result.stopFirst.length > 0) {
      this.warning('the service is still running; stop it:')
      for (const s of result.stopFirst) this.log(`  ${s}`)
    }
    this.log(result.removed ? `Removed: ${result.path}` : `Not installed: ${result.path}`)
    for (const s of result.nextSteps) this.log(`  ${s}`)
    return result
  }
}
