/**
 * Writes asked for in one turn of the event loop, committed together in one transaction at the next turn. A writer
 * resumes only once its write is committed, so what it goes on with is on disk (a lease before its request is sent,
 * an answer before a node uses it), while a thousand calls a second share a few hundred commits instead of making
 * two each (a commit, not the rows in it, is what costs: each one writes its dirty pages to the WAL).
 */

interface PendingWrite {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private pending: PendingWrite[] = [];
  private scheduled = false;

  /** `transaction` runs its function in one transaction and commits it (or rolls it back and throws). */
  constructor(private readonly transaction: (fn: () => void) => void) {}

  /** Runs `write` in the next group's transaction; resolves with its result once that transaction is committed. */
  add<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Commits what is pending now. The writes are SQL statements only (their inputs are prepared before they are
   * added), so a failure is the database's (disk full, I/O error, a lock held too long): it fails every write of the
   * group, none of which was committed.
   */
  flush(): void {
    this.scheduled = false;
    const group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    const results: unknown[] = new Array(group.length);
    try {
      this.transaction(() => {
        for (let i = 0; i < group.length; i++) results[i] = group[i]!.write();
      });
    } catch (error) {
      for (const w of group) w.reject(error);
      return;
    }
    for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]);
  }
}
