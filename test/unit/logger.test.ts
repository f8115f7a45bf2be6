import {PassThrough} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {createLogger} from '../../src/util/logger.js'

describe('logger', () => {
  it('never writes secrets, at any depth we log, in JSON or pretty mode', async () => {
    for (const pretty of [false, true]) {
      const out = new PassThrough()
      let text = ''
      out.on('data', (c: Buffer) => (text += c.toString()))
      const log = await createLogger('trace', {pretty, destination: out})
      log.info(
        {privateKey: '0xdeadbeefcafe', password: 'hunter2', wallet: {passphrase: 'p4ss', secretKey: 'abc123'}, nested: {deep: {mnemonic: 'word word'}}},
        'unlocking',
      )
      log.flush?.()
      await new Promise((r) => setImmediate(r))
      expect(text).toContain('unlocking')
      for (const secret of ['deadbeefcafe', 'hunter2', 'p4ss', 'abc123', 'word word']) expect(text, `${pretty}: ${secret}`).not.toContain(secret)
      expect(text).toContain('[redacted]')
    }
  })

  it('writes JSON lines when not pretty (journald friendly)', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (c: Buffer) => (text += c.toString()))
    const log = await createLogger('info', {pretty: false, destination: out})
    log.warn({epoch: 7}, 'heartbeat late')
    await new Promise((r) => setImmediate(r))
    const line = JSON.parse(text.trim().split('\n')[0]!)
    expect(line).toMatchObject({level: 40, epoch: 7, msg: 'heartbeat late'})
  })
})
