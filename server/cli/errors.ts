/** Exit codes of the CLI: 2 is a usage problem the user can fix by changing the command line. */
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** A mistake in how zenith was called; its message is printed as is, as one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
