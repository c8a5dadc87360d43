/**
 * How long-running library stages report progress: the stage name and, where known, how much is
 * done out of how much. The CLI turns it into a status line on a TTY (src/cli/progress.ts).
 */
export type ProgressFn = (stage: string, done?: number, total?: number) => void;
