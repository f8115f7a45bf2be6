/**
 * The closest candidate to a mistyped word (a command, a flag, a config key), for "did you mean …?"
 * hints. Edit distance, accepted only when the typo is small next to the word: a wild guess misleads.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: {candidate: string; distance: number} | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (best === undefined || distance < best.distance) best = {candidate, distance}
  }
  if (best === undefined || best.distance === 0) return best?.candidate
  return best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined
}

/** Levenshtein distance (insert, delete, substitute), one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }
  return previous[b.length]!
}
