import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {verifySignature} from '../../src/alerts/signature.js'

export interface ReceivedPost {
  body: string
  signature?: string
  contentType?: string
  /** The status the receiver answered. */
  status: number
}

/** A real HTTP receiver on loopback: answers the scripted statuses in turn (then 200) and records every POST. */
export async function startReceiver(statuses: number[] = []) {
  const posts: ReceivedPost[] = []
  const script = [...statuses]
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const status = script.shift() ?? 200
      posts.push({body, signature: req.headers['x-unet-signature'] as string | undefined, contentType: req.headers['content-type'], status})
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    posts,
    /** The accepted (2xx) posts whose signature verifies under `secret`, parsed. */
    accepted<T = Record<string, unknown>>(secret: string): T[] {
      return posts.filter((p) => p.status < 300 && verifySignature(p.body, p.signature, secret)).map((p) => JSON.parse(p.body) as T)
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
