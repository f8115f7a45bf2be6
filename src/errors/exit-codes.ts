/**
 * The one table of process exit codes. docs/exit-codes.md documents each entry and a test keeps the
 * two in step, so scripts and service managers can rely on the numbers.
 */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  CONFIG_INVALID: 3,
  /** Reserved: nothing returns it since every listed command is built; the number is kept, not reused. */
  NOT_IMPLEMENTED: 4,
  WALLET_MISSING: 5,
  WRONG_PASSPHRASE: 6,
  INSECURE_PERMISSIONS: 7,
  RPC_UNREACHABLE: 8,
  CHAIN_MISMATCH: 9,
  EVIDENCE_INVALID: 10,
  EMULATOR_REFUSED: 11,
  HARDWARE_UNAVAILABLE: 12,
  TPM_ERROR: 13,
  DEVNET_ERROR: 14,
  TX_REJECTED: 15,
  ALREADY_RUNNING: 16,
  INSUFFICIENT_FUNDS: 17,
  NETWORK_NOT_CONFIGURED: 18,
  INPUT_INVALID: 19,
  NOT_REGISTERED: 20,
  DOCTOR_FAILED: 21,
  SERVICE_ERROR: 22,
  AUDIT_MISMATCH: 23,
  ALERT_DELIVERY_FAILED: 24,
  INTERRUPTED: 130,
} as const

export type ExitCodeName = keyof typeof ExitCode
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName]
