import {Flags} from '@oclif/core'

import {renderServiceFile, SERVICE_PLATFORMS} from '../../service/service-files.js'
import {installService, serviceTargetFor} from '../../service/service-install.js'
import {BaseCommand} from '../../cli/base-command.js'

export default class ServiceInstall extends BaseCommand<typeof ServiceInstall> {
  static override summary = 'install the heartbeat as an OS service (systemd, launchd, Windows)'
  static override description = `Writes a hardened service definition that runs \`unet heartbeat\` for this data dir and network.
The keystore passphrase reaches the service through a credential file (systemd LoadCredential=, else UNET_PASSWORD_FILE), never the command line.
With --print the file goes to stdout and nothing is written.`
  static override examples = [
    '<%= config.bin %> service install --print --platform systemd',
    'sudo <%= config.bin %> service install --user miner --password-file /etc/unet/password',
    '<%= config.bin %> service install --platform launchd --metrics 127.0.0.1:9464',
  ]

  static override flags = {
    platform: Flags.string({description: 'service manager (default: this OS)', options: [...SERVICE_PLATFORMS]}),
    print: Flags.boolean({description: 'write the service file to stdout instead of installing it'}),
    dir: Flags.string({
      aliases: ['unit-dir'],
      description: 'directory to write into (default /etc/systemd/system, ~/Library/LaunchAgents, <data dir>/service)',
    }),
    user: Flags.string({description: 'systemd User= (default: $SUDO_USER or the current user)'}),
    group: Flags.string({description: 'systemd Group='}),
    'password-file': Flags.string({description: 'file (0600) holding the keystore passphrase (default <config dir>/keystore-password)'}),
    metrics: Flags.string({description: 'also serve Prometheus metrics from the service, e.g. 127.0.0.1:9464'}),
    'env-file': Flags.string({description: 'systemd EnvironmentFile with UNET_* overrides (default /etc/unet/heartbeat.env, optional)'}),
  }

  async run() {
    const {flags} = this
    const {platform, spec} = serviceTargetFor(this.config.root, this.resolved, flags)
    if (flags.print) {
      const file = renderServiceFile(platform, spec)
      if (!this.jsonEnabled()) process.stdout.write(file.content)
      return {platform, name: file.name, content: file.content}
    }
    const result = installService(platform, spec, flags.dir)
    this.log(`${result.status === 'unchanged' ? 'Unchanged' : result.status === 'created' ? 'Installed' : 'Updated'}: ${result.path}`)
    for (const w of result.warnings) this.warning(w)
    if (result.nextSteps.length > 0) {
      this.log('Next:')
      for (const step of result.nextSteps) this.log(`  ${step}`)
    }
    return result
  }
}
