/** Two cores here and in CI: two workers, each with its own anvil and swtpm. */
export const WORKERS = 2
