#!/usr/bin/env node
/** The `zenith` bin (dist/server/cli.js). All the work is in cli/program.ts. */
import { runCli } from './cli/program.js'

const exitCode = await runCli(process.argv)
if (exitCode !== undefined) process.exit(exitCode)
