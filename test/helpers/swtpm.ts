import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const SWTPM_INSTALL = 'apt-get install -y swtpm swtpm-tools tpm2-tools libtss2-esys-3.0.2-0 libtss2-tctildr0 libtss2-mu0 libtss2-rc0 libtss2-tcti-swtpm0'

export interface SwtpmHandle {
  pid: number
  port: number
  ctrlPort: number
  tcti: string
  stateDir: string
  /** PEM of the local CA root that signed the EK certificates. */
  caRootPath: string
  /** PEM of the intermediate that issued the EK certificates. */
  caIssuerPath: string
  child: ChildProcess
  stop(): void
}

/** A free TCP port on loopback (the kernel picks; we release it just before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/** Two consecutive free loopback ports (the swtpm TCTI expects ctrl = port + 1). */
async function freePortPair(): Promise<{port: number; ctrlPort: number}> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort()
    if (port >= 65535) continue
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (free) return {port, ctrlPort: port + 1}
  }
  throw new Error('no two consecutive free loopback ports for swtpm')
}

function requireTool(tool: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
  if (!found) throw new Error(`${tool} is not installed; this test needs a real swtpm. Install it with: ${SWTPM_INSTALL}`)
}

/**
 * Manufactures a fresh swtpm (EK certs signed by a private local CA, like a vendor would) and
 * starts it on random loopback ports. Tests fail loudly, with the install command, without it.
 */
export async function startSwtpm(): Promise<SwtpmHandle> {
  requireTool('swtpm')
  requireTool('swtpm_setup')
  const root = mkdtempSync(join(tmpdir(), 'unet-swtpm-'))
  const stateDir = join(root, 'state')
  const caDir = join(root, 'ca')
  mkdirSync(stateDir)
  mkdirSync(caDir)
  writeFileSync(
    join(root, 'localca.conf'),
    `statedir = ${caDir}\nsigningkey = ${caDir}/signkey.pem\nissuercert = ${caDir}/issuercert.pem\ncertserial = ${caDir}/certserial\n`,
  )
  writeFileSync(join(root, 'localca.options'), '--platform-manufacturer unet-test\n--platform-version 2.1\n--platform-model swtpm\n')
  writeFileSync(
    join(root, 'setup.conf'),
    `create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = ${root}/localca.conf\ncreate_certs_tool_options = ${root}/localca.options\nactive_pcr_banks = sha256\n`,
  )
  const setup = spawnSync(
    'swtpm_setup',
    ['--tpm2', '--tpmstate', stateDir, '--create-ek-cert', '--create-platform-cert', '--config', join(root, 'setup.conf'), '--overwrite'],
    {encoding: 'utf8'},
  )
  if (setup.status !== 0) throw new Error(`swtpm_setup failed: ${setup.stderr || setup.stdout}`)

  // libtss2-tcti-swtpm only takes host and port and talks to the control channel on port + 1.
  const {port, ctrlPort} = await freePortPair()
  const child = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${stateDir}`,
      '--server',
      `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl',
      `type=tcp,port=${ctrlPort},bindaddr=127.0.0.1`,
      '--flags',
      'not-need-init,startup-clear',
    ],
    {stdio: ['ignore', 'ignore', 'pipe']},
  )
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  await waitForPort(port, child, () => stderr)
  return {
    pid: child.pid!,
    port,
    ctrlPort,
    tcti: `swtpm:host=127.0.0.1,port=${port}`,
    stateDir,
    caRootPath: join(caDir, 'swtpm-localca-rootca-cert.pem'),
    caIssuerPath: join(caDir, 'issuercert.pem'),
    child,
    stop: () => {
      try {
        process.kill(child.pid!, 'SIGTERM')
      } catch {
        // already gone
      }
    },
  }
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const {connect} = await import('node:net')
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`swtpm exited: ${output()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`swtpm did not listen on ${port}: ${output()}`)
}
