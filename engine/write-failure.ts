export const WRITE_FAILURE_HINT =
  'Free disk space (or raise the file size limit, or point --cache elsewhere) and run the same command again; committed work is kept.';

/** Errors that mean the disk (or a limit on it) refused a write, from node's fs or from SQLite. */
export function isWriteFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code));
}
