import {afterAll, beforeAll} from 'vitest'

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
      if (world === undefined) throw new Error(`suiteWorld(): the world is made in beforeAll: read ${String(field)} inside a hook or a test`)
      return Reflect.get(world, field) as unknown
    },
  })
}
