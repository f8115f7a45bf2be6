import {homedir} from 'node:os'
import {isAbsolute, join, win32} from 'node:path'

import {InputError} from '../errors/index.js'

/**
 * Service definitions that run `unet heartbeat` under the OS's service manager: a hardened systemd
 * unit, a launchd plist, a Windows service (WinSW XML). Pure string builders: the command writes
 * them, tests verify them (systemd-analyze verify, a plist parser, an XML parser).
 *
 * The keystore passphrase never goes on a command line (visible to every user via /proc): systemd
 * hands it over with LoadCredential= (a 0400 file only the service can read, under
 * $CREDENTIALS_DIRECTORY) and unet reads it through UNET_PASSWORD_FILE; launchd and Windows point
 * UNET_PASSWORD_FILE at a 0600 file.
 */

export type ServicePlatform = 'systemd' | 'launchd' | 'windows'
export const SERVICE_PLATFORMS: readonly ServicePlatform[] = ['systemd', 'launchd', 'windows']

export const SYSTEMD_UNIT_NAME = 'unet-heartbeat.service'
export const LAUNCHD_LABEL = 'net.utilitynet.unet.heartbeat'
export const WINDOWS_SERVICE_ID = 'unet-heartbeat'

export interface ServiceSpec {
  /** Absolute path of the node binary (process.execPath). */
  nodePath: string
  /** Absolute path of unet's bin/run.js. */
  binPath: string
  dataDir: string
  configDir: string
  /** File holding the keystore passphrase (0600). */
  passwordFile: string
  /** systemd User=/Group= (default: none, i.e. root — pass the miner's user). */
  user?: string
  group?: string
  /** Extra `unet heartbeat` flags, e.g. ['--network', 'testnet', '--metrics', '127.0.0.1:9464']. */
  heartbeatArgs?: string[]
  /** systemd: optional EnvironmentFile (UNET_* overrides); '-' prefix added, a missing file is fine. */
  environmentFile?: string
}

export interface ServiceFile {
  platform: ServicePlatform
  /** File name, e.g. unet-heartbeat.service */
  name: string
  content: string
}

export function defaultPlatform(platform: NodeJS.Platform = process.platform): ServicePlatform {
  return platform === 'darwin' ? 'launchd' : platform === 'win32' ? 'windows' : 'systemd'
}

/** Where `install` writes the file by default. */
export function defaultServiceDir(platform: ServicePlatform, options: {root?: boolean; dataDir?: string} = {}): string {
  const root = options.root ?? (typeof process.getuid === 'function' && process.getuid() === 0)
  if (platform === 'systemd') return '/etc/systemd/system'
  if (platform === 'launchd') return root ? '/Library/LaunchDaemons' : join(homedir(), 'Library', 'LaunchAgents')
  return join(options.dataDir ?? homedir(), 'service')
}

export function serviceFileName(platform: ServicePlatform): string {
  return platform === 'systemd' ? SYSTEMD_UNIT_NAME : platform === 'launchd' ? `${LAUNCHD_LABEL}.plist` : `${WINDOWS_SERVICE_ID}.xml`
}

/** Where the service file of `platform` lives (serviceDir overrides the platform's directory). */
export function servicePathFor(platform: ServicePlatform = defaultPlatform(), serviceDir?: string, dataDir?: string): string {
  return join(serviceDir ?? defaultServiceDir(platform, {dataDir}), serviceFileName(platform))
}

function assertSpec(spec: ServiceSpec, platform: ServicePlatform): void {
  const abs = platform === 'windows' ? (p: string) => win32.isAbsolute(p) || isAbsolute(p) : isAbsolute
  for (const [key, value] of Object.entries({
    nodePath: spec.nodePath,
    binPath: spec.binPath,
    dataDir: spec.dataDir,
    configDir: spec.configDir,
    passwordFile: spec.passwordFile,
  }))
    if (!abs(value)) throw new InputError(`service ${key} must be an absolute path, got "${value}"`)
  for (const [key, value] of Object.entries({user: spec.user, group: spec.group}))
    if (value !== undefined && !/^[a-z_][a-z0-9_-]*[$]?$/i.test(value)) throw new InputError(`service ${key} "${value}" is not a valid user/group name`)
  for (const v of [...Object.values(spec), ...(spec.heartbeatArgs ?? [])])
    if (typeof v === 'string' && /[\n\r\0]/.test(v)) throw new InputError('service paths and arguments must not contain newlines or NUL')
}

export function renderServiceFile(platform: ServicePlatform, spec: ServiceSpec): ServiceFile {
  assertSpec(spec, platform)
  const content = platform === 'systemd' ? systemdUnit(spec) : platform === 'launchd' ? launchdPlist(spec) : windowsServiceXml(spec)
  return {platform, name: serviceFileName(platform), content}
}

// ---------------- systemd ----------------

/** One ExecStart word: specifiers (%) and variables ($) escaped, quoted when it has spaces/quotes. */
export function systemdWord(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped
  return '"' + escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
}

function systemdEnv(name: string, value: string): string {
  return `Environment=${systemdWord(`${name}=${value}`)}`
}

/** Paths under these are hidden by ProtectHome=yes; then only read-only protection is possible. */
const HOME_ROOTS = ['/home/', '/root/', '/run/user/']

function systemdUnit(spec: ServiceSpec): string {
  const underHome = [spec.nodePath, spec.binPath, spec.dataDir, spec.configDir, spec.passwordFile].some((p) =>
    HOME_ROOTS.some((r) => p.startsWith(r) || p + '/' === r),
  )
  const exec = [spec.nodePath, ...daemonArgs(spec)].map(systemdWord).join(' ')
  const lines = [
    '# unet heartbeat agent: written by `unet service install`; see docs/service.md.',
    '[Unit]',
    'Description=UtilityNet miner heartbeat agent (unet)',
    'Documentation=man:systemd.exec(5)',
    'After=network-online.target time-sync.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    'Restart=always',
    'RestartSec=10',
    'KillSignal=SIGTERM',
    // the agent exits 130 (INTERRUPTED) on SIGTERM: a stop, not a failure
    'SuccessExitStatus=130',
    'TimeoutStopSec=30',
    ...(spec.user ? [`User=${spec.user}`] : []),
    ...(spec.group ? [`Group=${spec.group}`] : []),
    'SupplementaryGroups=tss',
    systemdEnv('UNET_DATA_DIR', spec.dataDir),
    systemdEnv('UNET_CONFIG_DIR', spec.configDir),
    // the passphrase: a credential, never argv and never a plain Environment= value
    `LoadCredential=${systemdWord(`unet-password:${spec.passwordFile}`)}`,
    'Environment=UNET_PASSWORD_FILE=%d/unet-password',
    `EnvironmentFile=-${systemdWord(spec.environmentFile ?? '/etc/unet/heartbeat.env')}`,
    'UMask=0077',
    '# hardening',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
    `ReadWritePaths=${[spec.dataDir, spec.configDir].map(systemdWord).join(' ')}`,
    'PrivateTmp=yes',
    'DevicePolicy=closed',
    'DeviceAllow=/dev/tpmrm0 rw',
    'DeviceAllow=/dev/nvidiactl rw',
    'DeviceAllow=char-nvidia-frontend rw',
    'DeviceAllow=/dev/bm-sophon0 rw',
    'DeviceAllow=/dev/bmdev-ctl rw',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ]
  return lines.join('\n')
}

/**
 * Node flags of the daemon. A 2 MiB young generation keeps the long-running agent's RSS under
 * ~90 MB (Node's default grows it to ~50 MB and never gives it back); measured in docs/benchmarks.md.
 * V8 reads it only at start-up, so it must be on the command line.
 */
const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2']

/** What the service runs after the node binary: its flags, bin/run.js, `heartbeat` and its flags. */
function daemonArgs(spec: ServiceSpec): string[] {
  return [...DAEMON_NODE_FLAGS, spec.binPath, 'heartbeat', ...(spec.heartbeatArgs ?? [])]
}

// ---------------- launchd ----------------

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

function launchdPlist(spec: ServiceSpec): string {
  const str = (s: string) => `<string>${xmlEscape(s)}</string>`
  const args = [spec.nodePath, ...daemonArgs(spec)]
  const env: Record<string, string> = {UNET_DATA_DIR: spec.dataDir, UNET_CONFIG_DIR: spec.configDir, UNET_PASSWORD_FILE: spec.passwordFile}
  const logs = join(spec.dataDir, 'logs')
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- unet heartbeat agent: written by `unet service install`; see docs/service.md. -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>${str(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args.map((a) => `    ${str(a)}`),
    '  </array>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    ...Object.entries(env).map(([k, v]) => `    <key>${k}</key>${str(v)}`),
    '  </dict>',
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><true/>',
    '  <key>ThrottleInterval</key><integer>10</integer>',
    '  <key>ExitTimeOut</key><integer>30</integer>',
    '  <key>ProcessType</key><string>Background</string>',
    '  <key>Umask</key><integer>63</integer>',
    `  <key>StandardOutPath</key>${str(join(logs, 'heartbeat.out.log'))}`,
    `  <key>StandardErrorPath</key>${str(join(logs, 'heartbeat.err.log'))}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n')
}

// ---------------- Windows (WinSW) ----------------

/** Windows command-line quoting (CommandLineToArgvW rules). */
export function windowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg
  return '"' + arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1') + '"'
}

function windowsServiceXml(spec: ServiceSpec): string {
  const args = daemonArgs(spec).map(windowsArg).join(' ')
  const env: Record<string, string> = {UNET_DATA_DIR: spec.dataDir, UNET_CONFIG_DIR: spec.configDir, UNET_PASSWORD_FILE: spec.passwordFile}
  const logs = win32.join(spec.dataDir, 'logs')
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- unet heartbeat agent as a Windows service (WinSW 2.x/3.x): written by `unet service install`; see docs/service.md. -->',
    '<service>',
    `  <id>${WINDOWS_SERVICE_ID}</id>`,
    '  <name>UtilityNet heartbeat (unet)</name>',
    '  <description>Attests this host and its accelerators every epoch and sends the POCI heartbeat.</description>',
    `  <executable>${xmlEscape(spec.nodePath)}</executable>`,
    `  <arguments>${xmlEscape(args)}</arguments>`,
    ...Object.entries(env).map(([k, v]) => `  <env name="${k}" value="${xmlEscape(v)}"/>`),
    '  <startmode>Automatic</startmode>',
    '  <delayedAutoStart>true</delayedAutoStart>',
    '  <onfailure action="restart" delay="10 sec"/>',
    '  <resetfailure>1 hour</resetfailure>',
    '  <stoptimeout>30 sec</stoptimeout>',
    '  <stopparentprocessfirst>true</stopparentprocessfirst>',
    `  <logpath>${xmlEscape(logs)}</logpath>`,
    '  <log mode="roll-by-size">',
    '    <sizeThreshold>10240</sizeThreshold>',
    '    <keepFiles>8</keepFiles>',
    '  </log>',
    '</service>',
    '',
  ].join('\n')
}

/** What to run after install / before uninstall. */
export function nextSteps(platform: ServicePlatform, path: string, action: 'install' | 'uninstall'): string[] {
  if (platform === 'systemd')
    return action === 'install'
      ? ['sudo systemctl daemon-reload && sudo systemctl enable --now unet-heartbeat.service', 'journalctl -u unet-heartbeat -f']
      : ['sudo systemctl daemon-reload']
  if (platform === 'launchd') {
    const domain = path.startsWith('/Library/') ? 'system' : 'gui/$(id -u)'
    const sudo = domain === 'system' ? 'sudo ' : ''
    return action === 'install' ? [`${sudo}launchctl bootstrap ${domain} ${path}`, `launchctl print ${domain}/${LAUNCHD_LABEL}`] : []
  }
  return action === 'install'
    ? [`copy WinSW.exe next to it as ${WINDOWS_SERVICE_ID}.exe, then: ${WINDOWS_SERVICE_ID}.exe install && ${WINDOWS_SERVICE_ID}.exe start`]
    : []
}

/** What to run before the file is removed (the service must be stopped first). */
export function stopSteps(platform: ServicePlatform, path: string): string[] {
  if (platform === 'systemd') return ['sudo systemctl disable --now unet-heartbeat.service']
  if (platform === 'launchd') return [`${path.startsWith('/Library/') ? 'sudo launchctl bootout system' : 'launchctl bootout gui/$(id -u)'}/${LAUNCHD_LABEL}`]
  return [`${WINDOWS_SERVICE_ID}.exe stop && ${WINDOWS_SERVICE_ID}.exe uninstall`]
}
