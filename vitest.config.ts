import {defineConfig} from 'vitest/config'

import {WORKERS} from './test/helpers/workers.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    poolOptions: {forks: {minForks: 1, maxForks: WORKERS}},
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
})
