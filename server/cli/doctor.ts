/**
 * `zenith doctor --url redis://…`: what an agent author runs to check their agent. One collection
 * pass of the console's readers against that Redis (./doctor-pass.ts), then every service, node,
 * queue and slow stream seen, and every problem with its key and reason.
 * Exit code 0 when clean, 1 when problems were found, 2 when Redis does not answer (or the command
 * line is wrong, as for every command).
 */
import { Option, InvalidArgumentError, type Command } from 'commander'
import { configSchema } from '../config.js'
import { systemClock } from '../clock.js'
import type { CliOutput, CliRun } from './program.js'
import { buildDoctorReport, formatDoctorJson, formatDoctorText, unreachableReport } from './doctor-report.js'
import { EXIT_FAILURE, EXIT_USAGE } from './errors.js'
import { parseSwitch } from './start.js'

export const EXIT_CLEAN = 0
export const EXIT_PROBLEMS = EXIT_FAILURE
export const EXIT_UNREACHABLE = EXIT_USAGE

interface DoctorFlags {
  url: string
  cluster?: true
  prefix: string
  json?: true
}

export function addDoctorCommand(program: Command, output: CliOutput, run: CliRun): void {
  program
    .command('doctor')
    .description('read a Redis the way the console does and list every service, node and queue seen and every key skipped, with its reason (exit 0 clean, 1 problems, 2 unreachable)')
    .addOption(new Option('--url <url>', 'Redis to check, redis:// or rediss://').env('REDIS_URL').argParser(checked('redisUrl')).makeOptionMandatory())
    .addOption(new Option('--prefix <prefix>', 'key prefix the agents write under').env('QUASAR_PREFIX').argParser(checked('prefix')).default(configSchema.shape.prefix.parse(undefined)))
    // commander would read any value of the env var, "0" included, as on: parsed as `zenith start` does
    .option('--cluster', 'the --url is one node of a Redis Cluster: read every master, as `zenith start --cluster` does (env: ZENITH_REDIS_CLUSTER=0|1)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: DoctorFlags) => {
      const shown = redactedUrl(flags.url)
      const clusterEnv = process.env.ZENITH_REDIS_CLUSTER
      const cluster = flags.cluster === true || (clusterEnv !== undefined && parseSwitch('ZENITH_REDIS_CLUSTER', clusterEnv))
      // loaded only here, so --help and other commands do not load the collector
      const { runDoctorPass, walkableKeys } = await import('./doctor-pass.js')
      const pass = await runDoctorPass({ url: flags.url, cluster, prefix: flags.prefix, clock: systemClock })
      const report = pass.reachable ? buildDoctorReport(shown, { ...pass, walkable: walkableKeys(pass.ticks) }) : unreachableReport(shown)
      output.out(flags.json ? formatDoctorJson(report) : formatDoctorText(report))
      run.exitCode = !report.reachable ? EXIT_UNREACHABLE : report.clean ? EXIT_CLEAN : EXIT_PROBLEMS
    })
}

/** a flag's value checked against its config field's schema, as `zenith start` does */
function checked(key: 'redisUrl' | 'prefix'): (text: string) => string {
  return (text) => {
    const result = configSchema.shape[key].safeParse(text)
    if (!result.success || result.data === undefined) throw new InvalidArgumentError(result.success ? 'must not be empty' : (result.error.issues[0]?.message ?? 'invalid value'))
    return result.data
  }
}

/** the URL without its password, which would otherwise land in a CI log */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'the given URL'
  }
}
