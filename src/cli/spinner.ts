/**
 * Progress for humans on a TTY (ora), nothing otherwise: --json output and logs stay clean.
 */
export interface Progress {
  update(text: string): void
  stop(): void
  fail(): void
}

const silent: Progress = {update() {}, stop() {}, fail() {}}

export async function spinner(enabled: boolean, text: string): Promise<Progress> {
  // a terminal that reports 0 columns (a pty nobody sized) makes ora count Infinity lines to clear and spin forever
  if (!enabled || !process.stderr.isTTY || !(process.stderr.columns > 0)) return silent
  const {default: ora} = await import('ora')
  const s = ora({text, stream: process.stderr}).start()
  return {
    update: (t) => {
      s.text = t
    },
    stop: () => s.stop(),
    fail: () => s.fail(),
  }
}
