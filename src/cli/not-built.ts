import {NotImplementedError} from '../errors/index.js'
import {BaseCommand} from './base-command.js'

/**
 * A command that is planned but not built in this version. It is listed in --help so the topic
 * layout is visible, and it says so plainly with its own exit code instead of pretending to work.
 */
export function notBuiltCommand(id: string, summary: string) {
  return class NotBuilt extends BaseCommand<typeof NotBuilt> {
    static override summary = `${summary} (not built yet)`
    static override strict = false

    async run(): Promise<never> {
      throw new NotImplementedError(`\`unet ${id}\``)
    }
  }
}
