/**
 * The `zenith` command line. Commands register themselves on the program; this module only decides
 * how output and failures look: every failure is one line on stderr, exit code 2 for a bad command
 * line (unknown flag, bad value, no redis-server for the embedded default), 1 for anything else.
 */
import { Command, CommanderError } from 'commander'
import { RedisServerNotFoundError } from '../embedded/redis-server.js'
import { APP_VERSION } from '../version.js'
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './errors.js'
import { addDoctorCommand } from './doctor.js'
import { addHashPasswordCommand } from './hash-password.js'
import { addStartCommand } from './start.js'

export interface CliOutput {
  out(text: string): void
  err(text: string): void
}

/** What a command that finishes reports back; a command that keeps running (start) leaves it unset. */
export interface CliRun {
  exitCode?: number
}

const processOutput: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
}

export function buildProgram(output: CliOutput = processOutput, run: CliRun = {}): Command {
  const program = new Command('zenith')
    .description('Monitoring console for services and job queues, built on Redis')
    .version(APP_VERSION, '-v, --version')
    // set before adding commands: subcommands copy these settings
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err, outputError: (text, write) => write(oneLine(text)) })
  addStartCommand(program)
  addHashPasswordCommand(program, run)
  addDoctorCommand(program, output, run)
  return program
}

/**
 * Runs the command line. Resolves with the exit code when the process should exit now, or
 * undefined when a command keeps running (the server).
 */
export async function runCli(argv: string[], output: CliOutput = processOutput): Promise<number | undefined> {
  const run: CliRun = {}
  try {
    await buildProgram(output, run).parseAsync(argv)
    return run.exitCode
  } catch (error) {
    // commander has already printed its message (or the help)
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE
    if (error instanceof UsageError || error instanceof RedisServerNotFoundError) {
      output.err(oneLine(error.message))
      return EXIT_USAGE
    }
    output.err(oneLine(`error: ${error instanceof Error ? error.message : String(error)}`))
    return EXIT_FAILURE
  }
}

/** Commander puts suggestions ("Did you mean --port?") on a second line; keep one. */
function oneLine(text: string): string {
  return `${text.replace(/\s*\n\s*/g, ' ').trim()}\n`
}
