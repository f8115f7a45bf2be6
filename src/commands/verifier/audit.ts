import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {requireChainReady} from '../../config/index.js'
import {ExitCode} from '../../errors/index.js'
import type {AuditReport} from '../../verifier/audit.js'

export default class VerifierAudit extends BaseCommand<typeof VerifierAudit> {
  static override summary = 'recompute every verifier decision from chain data and list the mismatches'
  static override description = `Reads the Registered events and the verifier's Approved/Rejected events, recomputes each decision from chain data
(the event, the registration block's time, the profile's policy and trust roots) and, for p384 (NVIDIA) registrations,
the OCSP answers the verifier recorded in its decisions log (--decisions; no responder is asked) with the RIMs of the
profile's nvidia.rimDir, and lists where they differ: approved but the recomputation rejects, rejected but it approves,
power, EK id or chip id differs, or a RIM read from nvidia.rimDir is not the one (SHA-256) the verifier recorded. Needs no key.
Exits 0 when every decision matches, ${ExitCode.AUDIT_MISMATCH} (AUDIT_MISMATCH) otherwise.`
  static override examples = ['<%= config.bin %> verifier audit --json', '<%= config.bin %> verifier audit --network testnet --from-block 1200']
  static override flags = {
    'from-block': Flags.integer({description: 'first block to read (default: the devnet deployment block, else 0)', min: 0}),
    decisions: Flags.string({
      description: "the verifier's decisions log with the recorded OCSP answers (default: <dataDir>/verifier/decisions.jsonl; on the devnet its supervisor's)",
    }),
  }

  async run(): Promise<AuditReport> {
    const profile = requireChainReady(this.resolved.profile)
    const [{withClient}, {auditDecisions}, {policyFromProfile, defaultFromBlock}, {readRecordedFacts, verifierDecisionsFile}, {devnetPaths}] =
      await Promise.all([
        import('../../chain/client.js'),
        import('../../verifier/audit.js'),
        import('../../verifier/policy.js'),
        import('../../verifier/records.js'),
        import('../../chain/devnet.js'),
      ])
    const policy = policyFromProfile(profile)
    const dataDir = this.resolved.paths.dataDir
    const log = this.flags.decisions ?? (profile.name === 'devnet' ? devnetPaths(dataDir).decisionsFile : verifierDecisionsFile(dataDir))
    const recorded = readRecordedFacts(log)
    const fromBlock = this.flags['from-block'] ?? defaultFromBlock(profile, dataDir)
    const report: AuditReport = await withClient(profile, (client) => auditDecisions(client, policy, {fromBlock}, recorded))
    if (!this.jsonEnabled()) {
      for (const m of report.mismatches) {
        this.log(`MISMATCH ${m.kind} ${m.regId}: ${m.problem}`)
        if (m.recomputed.reasons.length > 0) this.log(`  recomputed reasons: ${m.recomputed.reasons.join('; ')}`)
        this.log(`  on chain: tx ${m.onChain.txHash} by ${m.onChain.verifier}`)
      }
      this.log(
        `${report.checked} decisions checked, ${report.mismatches.length} mismatches${report.skipped ? `, ${report.skipped} skipped (registered before the scanned range)` : ''}`,
      )
    }
    if (report.mismatches.length > 0) process.exitCode = ExitCode.AUDIT_MISMATCH
    return report
  }
}
