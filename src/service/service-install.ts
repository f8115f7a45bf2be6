import {existsSync, readFileSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, UnetError} from '../errors/index.js'
import {writeFileAtomic} from '../util/files.js'
import {readLocalAgentStatus, type LocalAgentStatus} from '../agent/agent-status.js'
import {
  defaultPlatform,
  defaultServiceDir,
  nextSteps,
  renderServiceFile,
  serviceFileName,
  stopSteps,
  type ServicePlatform,
  type ServiceSpec,
} from './service-files.js'
import {queryServiceActivity, type ServiceActivityResult} from './service-manager.js'

/** install / uninstall / status of the heartbeat service file; the commands are thin wrappers. */

function fsError(action: string, path: string, error: unknown): UnetError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error'
  const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
  return new UnetError(`cannot ${action} ${path} (${code})`, ExitCode.SERVICE_ERROR, {
    hint: denied ? 'run it with sudo, or `unet service install --print > file` and install the file yourself' : 'check the path (--dir)',
    details: {path, code},
    cause: error,
  })
}

export interface InstallResult {
  platform: ServicePlatform
  path: string
  status: 'created' | 'updated' | 'unchanged'
  nextSteps: string[]
  warnings: string[]
}

/** Problems the service would hit at start, said at install time. */
function preflightWarnings(spec: ServiceSpec): string[] {
  const warnings: string[] = []
  if (!existsSync(spec.passwordFile))
    warnings.push(`the passphrase file ${spec.passwordFile} does not exist: create it (chmod 600) holding the keystore passphrase`)
  else if (process.platform !== 'win32' && (statSync(spec.passwordFile).mode & 0o077) !== 0)
    warnings.push(`the passphrase file ${spec.passwordFile} is readable by others: chmod 600 ${spec.passwordFile}`)
  if (!existsSync(spec.binPath)) warnings.push(`${spec.binPath} does not exist`)
  return warnings
}

export function installService(platform: ServicePlatform, spec: ServiceSpec, dir = defaultServiceDir(platform, {dataDir: spec.dataDir})): InstallResult {
  const file = renderServiceFile(platform, spec)
  const path = join(dir, file.name)
  let old: string | undefined
  try {
    old = existsSync(path) ? readFileSync(path, 'utf8') : undefined
  } catch (error) {
    throw fsError('read', path, error)
  }
  const status = old === undefined ? 'created' : old === file.content ? 'unchanged' : 'updated'
  if (status !== 'unchanged') {
    try {
      writeFileAtomic(path, file.content, 0o644)
    } catch (error) {
      throw fsError('write', path, error)
    }
  }
  return {platform, path, status, nextSteps: nextSteps(platform, path, 'install'), warnings: preflightWarnings(spec)}
}

export interface UninstallResult {
  platform: ServicePlatform
  path: string
  removed: boolean
  /** Run before (stop the service) — shown when it may still run. */
  stopFirst: string[]
  nextSteps: string[]
}

export async function uninstallService(platform: ServicePlatform, dir = defaultServiceDir(platform)): Promise<UninstallResult> {
  const path = join(dir, serviceFileName(platform))
  let removed = false
  if (existsSync(path)) {
    try {
      unlinkSync(path)
      removed = true
    } catch (error) {
      throw fsError('remove', path, error)
    }
  }
  const activity = await queryServiceActivity(platform)
  const stopFirst = activity.state === 'active' || activity.state === 'activating' ? stopSteps(platform, path) : []
  return {platform, path, removed, stopFirst, nextSteps: removed ? nextSteps(platform, path, 'uninstall') : []}
}

export interface ServiceStatusResult {
  platform: ServicePlatform
  path: string
  installed: boolean
  /** The installed file equals what `install` would write now (paths, flags). */
  upToDate?: boolean
  activity: ServiceActivityResult
  /** The agent lock of this data dir: is an agent running (service or foreground)? */
  agent: LocalAgentStatus
}

export async function serviceStatus(
  platform: ServicePlatform,
  spec: ServiceSpec,
  dir = defaultServiceDir(platform, {dataDir: spec.dataDir}),
): Promise<ServiceStatusResult> {
  const file = renderServiceFile(platform, spec)
  const path = join(dir, file.name)
  let installed = false
  let upToDate: boolean | undefined
  try {
    if (existsSync(path)) {
      installed = true
      upToDate = readFileSync(path, 'utf8') === file.content
    }
  } catch (error) {
    throw fsError('read', path, error)
  }
  return {platform, path, installed, upToDate, activity: await queryServiceActivity(platform), agent: readLocalAgentStatus(spec.dataDir)}
}

export interface SpecInputs {
  /** unet's package root (oclif config.root). */
  root: string
  dataDir: string
  configDir: string
  network: string
  passwordFile?: string
  user?: string
  group?: string
  metrics?: string
  environmentFile?: string
  nodePath?: string
}

/** The service spec for this installation: this node, this unet, this data dir, the network pinned. */
export function serviceSpecFor(i: SpecInputs): ServiceSpec {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  let user = i.user
  if (user === undefined && process.platform !== 'win32') {
    if (root) user = process.env.SUDO_USER || undefined
    else user = process.env.USER || process.env.LOGNAME || undefined
  }
  return {
    nodePath: i.nodePath ?? process.execPath,
    binPath: join(i.root, 'bin', 'run.js'),
    dataDir: i.dataDir,
    configDir: i.configDir,
    passwordFile: i.passwordFile ?? join(i.configDir, 'keystore-password'),
    user,
    group: i.group,
    environmentFile: i.environmentFile,
    heartbeatArgs: ['--network', i.network, ...(i.metrics ? ['--metrics', i.metrics] : [])],
  }
}

/** The flags `service install` and `service status` share (as oclif parses them). */
export interface ServiceFlags {
  platform?: string
  'password-file'?: string
  user?: string
  group?: string
  metrics?: string
  'env-file'?: string
}

/**
 * The platform (default: this OS) and service spec that `service install` writes and `service status`
 * compares against: the flags over this data dir, config dir and network.
 */
export function serviceTargetFor(
  root: string,
  resolved: {paths: {dataDir: string; configDir: string}; config: {network: string}},
  flags: ServiceFlags,
): {platform: ServicePlatform; spec: ServiceSpec} {
  const platform = (flags.platform ?? defaultPlatform()) as ServicePlatform
  const spec = serviceSpecFor({
    root,
    dataDir: resolved.paths.dataDir,
    configDir: resolved.paths.configDir,
    network: resolved.config.network,
    passwordFile: flags['password-file'],
    user: flags.user,
    group: flags.group,
    metrics: flags.metrics,
    environmentFile: flags['env-file'],
  })
  return {platform, spec}
}
