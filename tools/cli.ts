/**
 * Runs an operator command when its file is the process's entry point: its exit code, or
 * 1 with the error's message (never its stack: connection strings appear in some).
 * `--help` prints `usage` and exits 0; an option the command does not know, or one missing
 * its value, prints the reason and `usage` and exits 2, as the commands' own usage errors do.
 * Usage goes to stderr: stdout is the command's output, which may be piped on (a secret).
 */
export function runWhenMain(entry: NodeModule, main: (argv: string[]) => Promise<number>, usage: string): void {
  if (require.main !== entry) return;
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.error(usage);
    process.exit(0);
  }
  main(argv).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error));
      if (isUsageError(error)) console.error(usage);
      process.exit(isUsageError(error) ? 2 : 1);
    },
  );
}

/** node:util parseArgs refusing the command line (ERR_PARSE_ARGS_UNKNOWN_OPTION and the like). */
function isUsageError(error: unknown): boolean {
  return String((error as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('ERR_PARSE_ARGS_');
}
