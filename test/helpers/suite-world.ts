import {afterAll, beforeAll} from 'vitest'

/**
 * `value` as a suite set-up made it in beforeAll; read before then (while the file is collected, outside
 * hooks and tests) it is undefined, and this throws an error naming `what` (e.g. "pociSuite().deployed").
 */
export function madeInBeforeAll<T>(what: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`${what} is made in beforeAll: read it inside a hook or a test`)
  return value
}

/**
 * What a suite's tests share, made once: `start` in beforeAll (within `timeoutMs`), `stop` after the last
 * test. When `start` fails, `stop` is not called: start closes what it had started itself. Call it inside
 * describe(); the answer reads the world's fields (`world.page`) inside hooks and tests.
 */
export function suiteWorld<W extends object>(start: () => Promise<W>, stop: (world: W) => Promise<void>, timeoutMs: number): W {
  let world: W | undefined

  beforeAll(async () => {
    world = await start()
  }, timeoutMs)

  afterAll(async () => {
    if (world) await stop(world)
  })

  return new Proxy({} as W, {
    get(_, field) {
      return Reflect.get(madeInBeforeAll(`suiteWorld().${String(field)}`, world), field) as unknown
    },
  })
}
