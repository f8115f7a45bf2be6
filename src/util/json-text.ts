/** Where JSON.parse gave up, as line and column (1-based) instead of V8's character offset. */
export interface JsonSyntaxProblem {
  line: number
  column: number
  reason: string
}

/** Parses JSON text; a syntax error comes back as its line:column and V8's reason, never thrown. */
export function parseJsonText(text: string): {value: unknown} | {problem: JsonSyntaxProblem} {
  try {
    return {value: JSON.parse(text)}
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!
    const at = /at position (\d+)/.exec(message)
    const offset = at ? Number(at[1]) : text.length
    const before = text.slice(0, offset).split('\n')
    const reason = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/ in JSON at position \d+/, '')
      .replace(/^Unexpected end of JSON input$/, 'the text ends early')
    return {problem: {line: before.length, column: before.at(-1)!.length + 1, reason}}
  }
}
