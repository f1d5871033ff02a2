/** Where a value was created in a user's cell file: errors point here. */
export interface Site {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export function formatSite(site: Site | undefined): string {
  return site ? `${site.file}:${site.line}:${site.column}` : '<unknown>';
}

/**
 * The one error type users see. `message` is complete (file:line, op, shapes): the CLI prints it
 * as is, without a stack trace.
 */
export class RnncError extends Error {
  override readonly name = 'RnncError';
  constructor(message: string, readonly site?: Site) {
    super(site ? `${formatSite(site)}: ${message}` : message);
  }
}

/** Thrown by an op's shape rule; the node factory turns it into an RnncError with the site. */
export class ShapeError extends Error {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function assertNever(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
