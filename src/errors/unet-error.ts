import {ExitCode, type ExitCodeValue} from './exit-codes.js'

export interface UnetErrorOptions {
  /** What the user can do about it, one line. */
  hint?: string
  /** Machine-readable context for --json output; never secrets. */
  details?: Record<string, unknown>
  cause?: unknown
}

/**
 * Base of every error a user may see: a short one-line message, a hint, and a documented exit code.
 * Subclasses fix the code and a default hint so call sites stay one line.
 */
export class UnetError extends Error {
  readonly exitCode: ExitCodeValue
  readonly hint?: string
  readonly details?: Record<string, unknown>
  /** Stable identifier for --json consumers, e.g. "CONFIG_INVALID". */
  readonly code: string

  constructor(message: string, exitCode: ExitCodeValue = ExitCode.UNEXPECTED, options: UnetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = exitCode
    this.hint = options.hint
    this.details = options.details
    this.code = codeName(exitCode)
  }

  toJSON(): Record<string, unknown> {
    return {code: this.code, exitCode: this.exitCode, message: this.message, hint: this.hint, details: this.details}
  }
}

function codeName(value: ExitCodeValue): string {
  for (const [name, v] of Object.entries(ExitCode)) if (v === value) return name
  return 'UNEXPECTED'
}

function withHint(options: UnetErrorOptions, hint: string): UnetErrorOptions {
  return {...options, hint: options.hint ?? hint}
}

export class ConfigError extends UnetError {
  constructor(message: string, options: UnetErrorOptions = {}) {
    super(
      message,
      ExitCode.CONFIG_INVALID,
      withHint(options, '`unet config set|unset <key>` repairs a key; `unet config reset` starts over (the file is kept as a backup)'),
    )
  }
}

/** A bad flag, argument or command on the command line (exit 2): the message says what was expected. */
export class UsageError extends UnetError {
  constructor(message: string, options: UnetErrorOptions = {}) {
    super(message, ExitCode.USAGE, withHint(options, 'run the command with --help to see its usage'))
  }
}

export class InputError extends UnetError {
  constructor(message: string, options: UnetErrorOptions = {}) {
    super(message, ExitCode.INPUT_INVALID, options)
  }
}

export class WalletMissingError extends UnetError {
  constructor(message = 'no operator wallet found', options: UnetErrorOptions = {}) {
    super(message, ExitCode.WALLET_MISSING, withHint(options, 'run `unet wallet create` or `unet wallet import`'))
  }
}

export class WrongPassphraseError extends UnetError {
  constructor(options: UnetErrorOptions = {}) {
    super('wrong passphrase for the operator keystore', ExitCode.WRONG_PASSPHRASE, withHint(options, 'check UNET_PASSWORD / UNET_PASSWORD_FILE'))
  }
}

export class InsecurePermissionsError extends UnetError {
  constructor(path: string, mode: number) {
    super(`${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})`, ExitCode.INSECURE_PERMISSIONS, {
      hint: `chmod 600 ${path}`,
      details: {path},
    })
  }
}

export class NetworkNotConfiguredError extends UnetError {
  constructor(network: string, missing: string[], hint?: string) {
    super(`network profile "${network}" is not configured: ${missing.join(', ')} unset`, ExitCode.NETWORK_NOT_CONFIGURED, {
      hint: hint ?? `set them with \`unet config set networks.${network}.<key> <value>\` or use --network devnet`,
      details: {network, missing},
    })
  }
}

export class HardwareUnavailableError extends UnetError {
  constructor(message: string, options: UnetErrorOptions = {}) {
    super(message, ExitCode.HARDWARE_UNAVAILABLE, options)
  }
}

export class EvidenceInvalidError extends UnetError {
  constructor(message: string, reasons: string[], options: UnetErrorOptions = {}) {
    super(message, ExitCode.EVIDENCE_INVALID, {...options, details: {...options.details, reasons}})
  }
}

export class EmulatorRefusedError extends UnetError {
  constructor(network: string) {
    super(`emulator evidence is refused on network "${network}"`, ExitCode.EMULATOR_REFUSED, {
      hint: 'the emulator is for the devnet only; use a real security engine (--engine tpm2) or --network devnet',
      details: {network},
    })
  }
}
