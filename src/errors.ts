/**
 * Typed errors with a component prefix. The CLI maps them to exit codes in one place:
 * `InputError` and `ConfigError` → 1 (bad input or configuration), anything else → 2.
 * Library code throws these and never calls `process.exit`.
 */
export class VieweratlasError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = 2;
  constructor(
    /** Which part of the program speaks, e.g. `import`, `config`, `storage`. */
    readonly component: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${component}: ${message}`, options);
    this.name = new.target.name;
  }
}

/** Bad input data: a file, a line, a flag value. Exit 1. */
export class InputError extends VieweratlasError {
  override readonly exitCode = 1;
}

/** Bad configuration: an unknown key, a bad value, an unknown preset. Exit 1. */
export class ConfigError extends VieweratlasError {
  override readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super('config', message, options);
  }
}

/** Storage failed (I/O, permissions, S3). Exit 2. */
export class StorageError extends VieweratlasError {}
