/**
 * A real OCSP responder for tests: a P-384 test CA made with the openssl CLI in a temp dir, and
 * `openssl ocsp` serving its index on a port the kernel picks (-port 0; the port is read from the
 * ACCEPT line). Optionally run under libfaketime, so its clock (thisUpdate/nextUpdate) is in the past.
 * Each responder runs in its own process group (detached), which stop() kills.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, request as httpRequest} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {issuerKeyHash} from '../../src/hw/nvidia/ocsp-request.js'
import type {Issued} from './x509.js'

const run = (args: string[], cwd: string) => execFileSync('openssl', args, {cwd, stdio: ['ignore', 'pipe', 'pipe']})

export interface TestCert {
  name: string
  cert: X509Certificate
  pemPath: string
  keyPath: string
  serialHex: string
}

export interface IssueSpec {
  ca?: boolean
  /** extendedKeyUsage, e.g. 'OCSPSigning'. */
  eku?: string
  /** Authority Information Access OCSP URL. */
  ocspUrl?: string
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'unet-ocsp-'))
  private serial = 0x1000
  private readonly responders: ChildProcess[] = []

  /** A certificate made elsewhere (test/helpers/x509.ts) with its key, as files openssl can serve. */
  adopt(name: string, issued: Issued): TestCert {
    const pemPath = join(this.dir, `${name}.pem`)
    const keyPath = join(this.dir, `${name}.key`)
    writeFileSync(pemPath, issued.pem)
    writeFileSync(keyPath, issued.key.privateKey.export({type: 'pkcs8', format: 'pem'}) as string, {mode: 0o600})
    // the index holds the serial as openssl prints it: upper-case hex, even length, no leading zero bytes
    const hex = BigInt(`0x${issued.cert.serialNumber}`).toString(16).toUpperCase()
    return {name, cert: issued.cert, pemPath, keyPath, serialHex: hex.length % 2 ? `0${hex}` : hex}
  }

  /** A self-signed P-384 CA. */
  root(name: string): TestCert {
    const keyPath = join(this.dir, `${name}.key`)
    const pemPath = join(this.dir, `${name}.pem`)
    run(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-384',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        pemPath,
        '-subj',
        `/O=unet test/CN=${name}`,
        '-days',
        '3',
        '-sha384',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    )
    const cert = new X509Certificate(readFileSync(pemPath))
    return {name, cert, pemPath, keyPath, serialHex: cert.serialNumber}
  }

  /** A P-384 certificate issued by `issuer`. */
  issue(name: string, issuer: TestCert, spec: IssueSpec = {}): TestCert {
    const keyPath = join(this.dir, `${name}.key`)
    const csr = join(this.dir, `${name}.csr`)
    const pemPath = join(this.dir, `${name}.pem`)
    const ext = join(this.dir, `${name}.ext`)
    const lines = [`basicConstraints=critical,CA:${spec.ca ? 'TRUE' : 'FALSE'}`, `keyUsage=critical,${spec.ca ? 'keyCertSign,cRLSign' : 'digitalSignature'}`]
    if (spec.eku) lines.push(`extendedKeyUsage=${spec.eku}`)
    if (spec.ocspUrl) lines.push(`authorityInfoAccess=OCSP;URI:${spec.ocspUrl}`)
    writeFileSync(ext, lines.join('\n') + '\n')
    run(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', `/O=unet test/CN=${name}`],
      this.dir,
    )
    const serialHex = (this.serial++).toString(16).toUpperCase()
    run(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        issuer.pemPath,
        '-CAkey',
        issuer.keyPath,
        '-set_serial',
        `0x${serialHex}`,
        '-days',
        '2',
        '-sha384',
        '-extfile',
        ext,
        '-out',
        pemPath,
      ],
      this.dir,
    )
    return {name, cert: new X509Certificate(readFileSync(pemPath)), pemPath, keyPath, serialHex}
  }

  /** An openssl index: `good` certificates valid, `revoked` ones revoked for keyCompromise; others are unknown to the responder. */
  index(name: string, entries: {good?: TestCert[]; revoked?: TestCert[]}): string {
    const path = join(this.dir, `${name}.index.txt`)
    const exp = '301231235959Z'
    const line = (c: TestCert, state: string, rev: string) => `${state}\t${exp}\t${rev}\t${c.serialHex}\tunknown\t/O=unet test/CN=${c.name}`
    const rows = [...(entries.good ?? []).map((c) => line(c, 'V', '')), ...(entries.revoked ?? []).map((c) => line(c, 'R', '260101000000Z,keyCompromise'))]
    writeFileSync(path, rows.map((r) => r + '\n').join(''))
    return path
  }

  /** Starts `openssl ocsp` for `ca` with `signer`'s key; returns its URL. */
  async responder(options: {index: string; ca: TestCert; signer: TestCert; nextUpdateMinutes?: number; clockOffset?: string}): Promise<string> {
    const args = [
      'ocsp',
      '-index',
      options.index,
      '-port',
      '0',
      '-rsigner',
      options.signer.pemPath,
      '-rkey',
      options.signer.keyPath,
      '-CA',
      options.ca.pemPath,
      '-rmd',
      'sha384',
      '-ignore_err',
    ]
    if (options.nextUpdateMinutes) args.push('-nmin', String(options.nextUpdateMinutes))
    const child = options.clockOffset
      ? spawn('faketime', ['-f', options.clockOffset, 'openssl', ...args], {cwd: this.dir, detached: true})
      : spawn('openssl', args, {cwd: this.dir, detached: true})
    this.responders.push(child)
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${out}`)), 20_000)
      const onData = (d: Buffer) => {
        out += d.toString()
        const m = /ACCEPT \S*:(\d+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.on('exit', (code) => reject(new Error(`openssl ocsp exited ${code}: ${out}`)))
    })
    return `http://127.0.0.1:${port}/`
  }

  stop(): void {
    for (const child of this.responders) if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM') // the group: faketime does not pass SIGTERM on to its openssl
    rmSync(this.dir, {recursive: true, force: true})
  }
}

export interface Relay {
  url: string
  count: () => number
  close: () => Promise<void>
}

/**
 * An HTTP relay in front of a responder that counts requests and may rewrite them or the answers:
 * how a test plays the attacker between verifier and responder (replay, tampering).
 */
export async function relay(
  target: string | ((request: Buffer) => string),
  rewrite: {request?: (b: Buffer) => Buffer; response?: (b: Buffer, request: Buffer) => Buffer} = {},
): Promise<Relay> {
  let n = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      n++
      const original = Buffer.concat(chunks)
      const body = rewrite.request ? rewrite.request(original) : original
      const fwd = httpRequest(
        typeof target === 'string' ? target : target(original),
        {method: 'POST', headers: {'content-type': 'application/ocsp-request', 'content-length': body.length}},
        (up) => {
          const parts: Buffer[] = []
          up.on('data', (c: Buffer) => parts.push(c))
          up.on('end', () => {
            const answer = rewrite.response ? rewrite.response(Buffer.concat(parts), original) : Buffer.concat(parts)
            res.writeHead(up.statusCode ?? 502, {'content-type': 'application/ocsp-response', 'content-length': answer.length})
            res.end(answer)
          })
        },
      )
      fwd.on('error', () => res.writeHead(502).end())
      fwd.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  return {url: `http://127.0.0.1:${port}/`, count: () => n, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

/** Runs `use` with a relay (or an ocspRouter) as it opens, and closes it whatever `use` does. */
export async function withRelay<T>(opening: Promise<Relay>, use: (relay: Relay) => Promise<T>): Promise<T> {
  const opened = await opening
  try {
    return await use(opened)
  } finally {
    await opened.close()
  }
}

/**
 * One URL for the responders of several CAs (openssl ocsp answers for one CA): a request goes to the
 * responder of the issuer its CertID names. What NVIDIA's single ocsp.ndis.nvidia.com does for its CAs.
 */
export async function ocspRouter(
  routes: Array<{issuer: TestCert; url: string}>,
  rewrite: {response?: (b: Buffer, request: Buffer) => Buffer} = {},
): Promise<Relay> {
  const table = routes.map((r) => ({hash: Buffer.from(issuerKeyHash(r.issuer.cert)), url: r.url}))
  return relay((request) => table.find((r) => request.includes(r.hash))?.url ?? 'http://127.0.0.1:9/', rewrite)
}
