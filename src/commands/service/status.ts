import {Flags} from '@oclif/core'

import {SERVICE_PLATFORMS} from '../../service/service-files.js'
import {serviceStatus, serviceTargetFor} from '../../service/service-install.js'
import {BaseCommand} from '../../cli/base-command.js'

export default class ServiceStatus extends BaseCommand<typeof ServiceStatus> {
  static override summary = 'is the heartbeat service installed, up to date and running?'
  static override examples = ['<%= config.bin %> service status', '<%= config.bin %> service status --json']

  static override flags = {
    platform: Flags.string({description: 'service manager (default: this OS)', options: [...SERVICE_PLATFORMS]}),
    dir: Flags.string({aliases: ['unit-dir'], description: 'directory the file was installed into'}),
    'password-file': Flags.string({description: 'as given to install (to compare the installed file)'}),
    user: Flags.string({description: 'as given to install'}),
    group: Flags.string({description: 'as given to install'}),
    metrics: Flags.string({description: 'as given to install'}),
    'env-file': Flags.string({description: 'as given to install'}),
  }

  async run() {
    const {flags} = this
    const {platform, spec} = serviceTargetFor(this.config.root, this.resolved, flags)
    const r = await serviceStatus(platform, spec, flags.dir)
    this.log(
      `service file: ${r.installed ? `installed at ${r.path}${r.upToDate ? '' : ' (differs from what install would write now: re-run install)'}` : `not installed (${r.path})`}`,
    )
    this.log(`service:      ${r.activity.state} (${r.activity.detail})`)
    this.log(
      `agent:        ${r.agent.running ? `running, pid ${r.agent.pid}` : 'not running'}${r.agent.snapshot ? `, last state ${r.agent.snapshot.state}` : ''}`,
    )
    return r
  }
}
