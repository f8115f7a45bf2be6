/**
 * The argv of `unet verify nvidia-report|nvidia-rim|nvidia-evidence`, built from named parts so each CLI
 * test states what it verifies (which report, chain, nonce) and only the flags it adds.
 */

/** One GPU attestation report, the certificate chain that signed it and the nonce it must carry. */
export interface NvidiaReportParts {
  report: string
  chain: string
  nonce: string
}

function reportFlags({report, chain, nonce}: NvidiaReportParts): string[] {
  return ['--report', report, '--cert-chain', chain, '--nonce', nonce]
}

export function nvidiaReportArgs(parts: NvidiaReportParts, ...extra: string[]): string[] {
  return ['verify', 'nvidia-report', ...reportFlags(parts), ...extra]
}

/** `verify nvidia-rim`: one `--rim` per file, then the report the RIMs are compared with, if any. */
export function nvidiaRimArgs({rims, report}: {rims: string[]; report?: NvidiaReportParts}, ...extra: string[]): string[] {
  return ['verify', 'nvidia-rim', ...rims.flatMap((rim) => ['--rim', rim]), ...(report ? reportFlags(report) : []), ...extra]
}

/** `verify nvidia-evidence`: a multi-device evidence file and the nonce its reports must carry. */
export function nvidiaEvidenceArgs({evidence, nonce}: {evidence: string; nonce: string}, ...extra: string[]): string[] {
  return ['verify', 'nvidia-evidence', '--evidence', evidence, '--nonce', nonce, ...extra]
}
