import {Flags} from '@oclif/core'

import {runDoctor, type CheckStatus, type DoctorReport} from '../miner/doctor.js'
import {SERVICE_PLATFORMS, servicePathFor, type ServicePlatform} from '../service/service-files.js'
import {BaseCommand} from '../cli/base-command.js'
import type {ResolvedConfig} from '../config/index.js'
import {ExitCode} from '../errors/index.js'

const MARK: Record<CheckStatus, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'}

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'check every prerequisite and say how to fix it'
  static override description = `Checks the config, the TPM and its libraries, NVML, the wallet and its file mode, the passphrase for unattended runs,
the RPC endpoint and chain id, the clock against the chain, the gas balance and runway, and the service.
Exits 0 when nothing fails (warnings allowed), ${ExitCode.DOCTOR_FAILED} (DOCTOR_FAILED) otherwise; --json gives every check.`
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json --rpc-url http://127.0.0.1:8545']

  /** A broken config is one of the things doctor reports, not a reason not to run. */
  static readsConfig = false

  static override flags = {
    'service-dir': Flags.string({description: "where the service file is looked for (default: the platform's)"}),
    platform: Flags.string({description: 'service manager to check (default: this OS)', options: [...SERVICE_PLATFORMS]}),
  }

  async run(): Promise<DoctorReport> {
    let resolved: ResolvedConfig | undefined
    let configError: unknown
    try {
      resolved = this.resolved
    } catch (error) {
      configError = error
    }
    const report = await runDoctor({
      resolved,
      configError,
      dataDir: this.config.dataDir,
      configDir: this.config.configDir,
      servicePath: servicePathFor(this.flags.platform as ServicePlatform | undefined, this.flags['service-dir'], this.config.dataDir),
    })
    if (!this.jsonEnabled()) {
      const width = Math.max(...report.checks.map((c) => c.title.length))
      const style = this.style()
      for (const c of report.checks) {
        this.log(`${style.state(c.status, MARK[c.status])}  ${c.title.padEnd(width)}  ${c.detail}`)
        if (c.hint && (c.status === 'fail' || c.status === 'warn')) this.log(`      ${''.padEnd(width)}  hint: ${c.hint}`)
      }
      const s = report.summary
      this.log(`\n${s.pass} passed, ${s.warn} warnings, ${s.fail} failed${s.skip ? `, ${s.skip} skipped` : ''}`)
    }
    if (!report.ok) process.exitCode = ExitCode.DOCTOR_FAILED
    return report
  }
}
