import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {Writable} from 'node:stream'

import {InputError} from '../errors/index.js'
import {assertPrivateFile} from '../util/files.js'

export interface PassphraseOptions {
  env?: NodeJS.ProcessEnv
  /** Ask twice (when creating a keystore). */
  confirm?: boolean
  purpose?: string
  /**
   * A 0600 file to use when neither variable is set: the passphrase `unet quickstart` generated for
   * a devnet wallet. Callers pass it on the devnet only.
   */
  fallbackFile?: string
}

/**
 * The operator passphrase: UNET_PASSWORD, else UNET_PASSWORD_FILE (must be 0600), else a prompt on a
 * TTY. Never argv: a command line is visible to every user through /proc.
 */
export async function getPassphrase(options: PassphraseOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  if (env.UNET_PASSWORD !== undefined && env.UNET_PASSWORD !== '') return env.UNET_PASSWORD
  const file = env.UNET_PASSWORD_FILE || (options.fallbackFile && existsSync(options.fallbackFile) ? options.fallbackFile : undefined)
  if (file) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new InputError(`passphrase file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    assertPrivateFile(file)
    const passphrase = text.replace(/\r?\n$/, '')
    if (passphrase === '') throw new InputError(`passphrase file ${file} is empty`)
    return passphrase
  }
  if (!process.stdin.isTTY) {
    throw new InputError('no passphrase given for the operator keystore', {
      hint: 'set UNET_PASSWORD_FILE to a 0600 file holding it (or UNET_PASSWORD), or run on a terminal to be asked',
    })
  }
  const first = await prompt(`Passphrase${options.purpose ? ` for ${options.purpose}` : ''}: `)
  if (first === '') throw new InputError('the passphrase must not be empty')
  if (options.confirm && (await prompt('Repeat passphrase: ')) !== first) throw new InputError('the passphrases do not match')
  return first
}

async function prompt(question: string): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk)
      done()
    },
  })
  const rl = createInterface({input: process.stdin, output, terminal: true})
  process.stderr.write(question)
  muted = true
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve))
  } finally {
    rl.close()
    process.stderr.write('\n')
  }
}

/** Where `unet quickstart` keeps a passphrase it generated (devnet only, mode 0600). */
export function quickstartPassphraseFile(dataDir: string): string {
  return join(dataDir, 'keys', 'quickstart-passphrase')
}
