/** `zenith hash-password [password]`: prints an scrypt hash for a users file (see auth/cli.ts). */
import type { Command } from 'commander'
import { hashPasswordCommand } from '../auth/cli.js'
import type { CliRun } from './program.js'

export function addHashPasswordCommand(program: Command, run: CliRun): void {
  program
    .command('hash-password')
    .description('print a password hash for a users file; reads the password from stdin (an argument lands in shell history and ps)')
    .argument('[password]', 'the password, if not given on stdin')
    .action(async (password: string | undefined) => {
      run.exitCode = await hashPasswordCommand({ password, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
    })
}
