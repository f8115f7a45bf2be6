import type {Hook} from '@oclif/core'

import {UsageError} from '../errors/index.js'
import {closest} from '../util/did-you-mean.js'

/**
 * `unet stauts`: on a terminal, @oclif/plugin-not-found asks "Did you mean status?" and runs it; off a
 * terminal (scripts, services, tests) there is no one to ask, so the guess goes into the hint of a
 * usage error printed like every other error (bin/run.js → printError).
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.replaceAll(':', ' ')
  if (process.stdin.isTTY && process.stderr.isTTY) {
    const {default: askAndRun} = await import('@oclif/plugin-not-found')
    try {
      return await askAndRun.call(this, options)
    } catch {
      throw new UsageError(`\`${typed}\` is not a unet command`, {hint: '`unet help` lists the commands'})
    }
  }
  const visible = options.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const guess = closest(options.id, visible)?.replaceAll(':', ' ')
  throw new UsageError(`\`${typed}\` is not a unet command`, {
    hint: guess ? `did you mean \`unet ${guess}\`? \`unet help\` lists the commands` : '`unet help` lists the commands',
  })
}

export default hook
