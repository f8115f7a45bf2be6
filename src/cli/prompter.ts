import {createInterface} from 'node:readline'

import {ExitCode, UnetError} from '../errors/index.js'

/**
 * Questions on the terminal (stderr), the current value in brackets; a bad answer is asked again, up to
 * three times. Ctrl-C or the end of input cancels `command` (exit code INTERRUPTED).
 */
export class Prompter {
  constructor(private readonly command: string) {}

  async ask<T>(question: string, current: string | undefined, parse: (answer: string) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const raw = (await this.line(`${question}${current ? ` [${current}]` : ''}: `)).trim()
      try {
        return parse(raw === '' ? (current ?? '') : raw)
      } catch (error) {
        if (!(error instanceof UnetError) || attempt >= 3) throw error
        process.stderr.write(`  ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`)
      }
    }
  }

  /** A fresh readline per question: the passphrase prompt between two questions reads stdin on its own. */
  private line(question: string): Promise<string> {
    const rl = createInterface({input: process.stdin, output: process.stderr, terminal: true})
    return new Promise((resolve, reject) => {
      let answered = false
      rl.on('SIGINT', () => rl.close())
      rl.on('close', () => {
        if (!answered) {
          process.stderr.write('\n')
          reject(new UnetError(`${this.command} was cancelled; nothing more was written`, ExitCode.INTERRUPTED))
        }
      })
      rl.question(question, (answer) => {
        answered = true
        rl.close()
        resolve(answer)
      })
    })
  }
}
