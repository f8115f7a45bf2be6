import {chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCommandHook} from '../../../src/alerts/command-hook.js'
import {signBody, verifySignature} from '../../../src/alerts/signature.js'
import {alertSinks} from '../../../src/alerts/sinks.js'
import {postWebhook} from '../../../src/alerts/webhook.js'
import {DEFAULTS} from '../../../src/config/schema.js'
import {ExitCode, UnetError} from '../../../src/errors/index.js'
import {startReceiver} from '../../helpers/webhook-receiver.js'

const fast = {baseMs: 10, maxMs: 40}
const SECRET = 'correct horse battery staple'

describe('webhook delivery (real HTTP receiver on loopback)', () => {
  it('retries a 500 and is delivered by the 200 that follows; the body is signed', async () => {
    const rx = await startReceiver([500, 503])
    try {
      const body = JSON.stringify({hello: 'world'})
      const r = await postWebhook(body, {url: rx.url, secret: SECRET, retries: 4, backoff: fast})
      expect(r).toEqual({ok: true, attempts: 3, status: 200})
      expect(rx.posts.map((p) => p.status)).toEqual([500, 503, 200])
      expect(rx.posts.every((p) => p.body === body && p.contentType === 'application/json')).toBe(true)
      expect(verifySignature(body, rx.posts[2]!.signature, SECRET)).toBe(true)
    } finally {
      await rx.close()
    }
  })

  it('gives up after its retries (a failure, not an exception); a 4xx is not retried', async () => {
    const rx = await startReceiver([500, 500, 500, 400])
    try {
      expect(await postWebhook('{}', {url: rx.url, secret: SECRET, retries: 2, backoff: fast})).toEqual({ok: false, attempts: 3, error: 'HTTP 500'})
      expect(await postWebhook('{}', {url: rx.url, secret: SECRET, retries: 5, backoff: fast})).toEqual({ok: false, attempts: 1, error: 'HTTP 400'})
      expect(rx.posts).toHaveLength(4)
    } finally {
      await rx.close()
    }
  })

  it('a receiver that is not listening is a named network failure after the retries', async () => {
    const rx = await startReceiver()
    const url = rx.url
    await rx.close()
    const r = await postWebhook('{}', {url, secret: SECRET, retries: 1, backoff: fast})
    expect(r).toMatchObject({ok: false, attempts: 2, error: 'ECONNREFUSED'})
  })

  it('the signature catches a forged or altered message', async () => {
    const body = JSON.stringify({event: 'firing', rule: 'missed-epoch'})
    const good = signBody(body, SECRET)
    expect(verifySignature(body, good, SECRET)).toBe(true)
    // an attacker without the secret, a changed body, a changed signature, a truncated or missing header
    expect(verifySignature(body, signBody(body, 'guessed secret'), SECRET)).toBe(false)
    expect(verifySignature(body.replace('firing', 'resolved'), good, SECRET)).toBe(false)
    expect(verifySignature(body, good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'), SECRET)).toBe(false)
    expect(verifySignature(body, good.slice(0, 20), SECRET)).toBe(false)
    expect(verifySignature(body, good.toUpperCase(), SECRET)).toBe(false)
    expect(verifySignature(body, undefined, SECRET)).toBe(false)
  })
})

describe('command hook (real subprocess)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-hook-'))

  it('gets the message on stdin and never through a shell', async () => {
    const out = join(dir, 'got.json')
    const pwned = join(dir, 'pwned')
    // the summary carries chain data anyone can write: shell syntax in it must stay data
    const body = JSON.stringify({summary: `$(touch ${pwned}); touch ${pwned}; \`touch ${pwned}\``})
    const r = await runCommandHook(body, {argv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(out)}, require('fs').readFileSync(0))`]})
    expect(r).toEqual({ok: true, attempts: 1})
    expect(readFileSync(out, 'utf8')).toBe(body)
    expect(existsSync(pwned)).toBe(false)
  })

  it('does not pass the webhook secret on, gives the event in the environment, and reports a failing hook', async () => {
    const out = join(dir, 'env.json')
    process.env.UNET_ALERTS_WEBHOOK_SECRET = 'leak-me'
    try {
      const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({s: process.env.UNET_ALERTS_WEBHOOK_SECRET ?? null, e: process.env.UNET_ALERT_EVENT}))`
      const ok = await runCommandHook('{}', {
        argv: [process.execPath, '-e', script],
        env: {UNET_ALERT_EVENT: 'firing'},
        withhold: ['UNET_ALERTS_WEBHOOK_SECRET'],
      })
      expect(ok.ok).toBe(true)
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({s: null, e: 'firing'})
    } finally {
      delete process.env.UNET_ALERTS_WEBHOOK_SECRET
    }
    const failed = await runCommandHook('{}', {argv: [process.execPath, '-e', 'console.error("relay down"); process.exit(3)']})
    expect(failed).toEqual({ok: false, attempts: 1, error: `${process.execPath} exited 3: relay down`})
    const missing = await runCommandHook('{}', {argv: [join(dir, 'no-such-hook')]})
    expect(missing).toMatchObject({ok: false, error: expect.stringMatching(/cannot run .*ENOENT/)})
  })

  it('a hook that hangs is killed at its timeout', async () => {
    const r = await runCommandHook('{}', {argv: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], timeoutMs: 300})
    expect(r).toMatchObject({ok: false, error: expect.stringMatching(/exited on SIGKILL/)})
  })
})

describe('sinks from the config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-sinks-'))
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, '{}', {mode: 0o600})

  it('a webhook without a secret is refused: alerts are always signed', () => {
    const error = (() => {
      try {
        alertSinks({alerts: {...DEFAULTS.alerts, webhook: {url: 'http://127.0.0.1:1/x'}}, configFile})
      } catch (e) {
        return e as UnetError
      }
    })()
    expect(error).toBeInstanceOf(UnetError)
    expect(error!.exitCode).toBe(ExitCode.CONFIG_INVALID)
  })

  it('a secret in a group- or world-readable place is refused; 0600 is accepted', () => {
    const secretFile = join(dir, 'secret')
    writeFileSync(secretFile, 's3cret\n', {mode: 0o644})
    chmodSync(secretFile, 0o644)
    const viaFile = {alerts: {...DEFAULTS.alerts, webhook: {url: 'http://127.0.0.1:1/x', secretFile}}, configFile}
    expect(() => alertSinks(viaFile)).toThrow(/readable by group or others/)
    chmodSync(secretFile, 0o600)
    expect(alertSinks(viaFile).map((s) => s.name)).toEqual(['webhook'])
    // the secret inside the config file itself: the config file must be private too
    chmodSync(configFile, 0o644)
    const inConfig = {alerts: {...DEFAULTS.alerts, webhook: {url: 'http://127.0.0.1:1/x', secret: 's'}}, secretSource: 'file' as const, configFile}
    expect(() => alertSinks(inConfig)).toThrow(/readable by group or others/)
    chmodSync(configFile, 0o600)
    expect(alertSinks({...inConfig, alerts: {...inConfig.alerts, command: ['/bin/true']}}).map((s) => s.name)).toEqual(['webhook', 'command'])
  })
})
