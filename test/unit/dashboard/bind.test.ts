import {describe, expect, it} from 'vitest'

import {checkBindHost, isLoopback, loopbackAuthorities} from '../../../src/dashboard/bind.js'
import {UnetError} from '../../../src/errors/index.js'

describe('where the dashboard may listen', () => {
  it('knows the loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', '128.0.0.1', '127.example.com', 'localhost.evil.com', '::ffff:10.0.0.1', ''])
      expect(isLoopback(h), h).toBe(false)
  })

  it('refuses any other address without --allow-remote (exit 2), allows it with the flag', () => {
    expect(checkBindHost('127.0.0.1', false)).toEqual({remote: false})
    let error: unknown
    try {
      checkBindHost('0.0.0.0', false)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UnetError)
    expect((error as UnetError).exitCode).toBe(2)
    expect((error as UnetError).hint).toMatch(/--allow-remote/)
    expect(checkBindHost('0.0.0.0', true)).toEqual({remote: true})
  })

  it('answers only its own loopback authority (no other port, no other name)', () => {
    const hosts = loopbackAuthorities(8464)
    expect(hosts.has('127.0.0.1:8464')).toBe(true)
    expect(hosts.has('localhost:8464')).toBe(true)
    expect(hosts.has('127.0.0.1:8465')).toBe(false)
    expect(hosts.has('127.0.0.1')).toBe(false)
    expect(hosts.has('evil.example:8464')).toBe(false)
  })
})
