// Removes build outputs so a deleted source file never lingers as a stale command.
import {rmSync} from 'node:fs'

for (const path of ['dist', 'oclif.manifest.json']) rmSync(new URL(`../${path}`, import.meta.url), {recursive: true, force: true})
