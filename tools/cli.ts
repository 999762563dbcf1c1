/**
 * Runs an operator command when its file is the process's entry point: its exit code, or
 * 1 with the error's message (never its stack: connection strings appear in some).
 */
export function runWhenMain(entry: NodeModule, main: (argv: string[]) => Promise<number>): void {
  if (require.main !== entry) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
