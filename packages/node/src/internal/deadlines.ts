/**
 * Deadlines of in-flight exchanges, watched by one timer. A timer per exchange (set when the
 * request goes out, cleared when the body ends) costs an allocation and two timer-list updates per
 * request; here an exchange costs a `Set` entry, and the single timer is armed for the earliest
 * deadline. It fires exactly when that deadline passes, expires whatever is due, and re-arms for
 * the next one; it is unref'd, so it never keeps the process alive.
 *
 * @internal
 */

/** One watched deadline. */
export interface Watch {
  /** `performance.now()` time at which `expire` runs. */
  readonly at: number
  readonly expire: () => void
}

/** The deadlines of one adapter. */
export class Deadlines {
  private readonly active = new Set<Watch>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private armedAt = Infinity

  /** Watch a deadline; the returned function stops watching it (idempotent). */
  add(at: number, expire: () => void): () => void {
    const watch: Watch = { at, expire }
    this.active.add(watch)
    if (at < this.armedAt) this.arm(at)
    return () => {
      this.active.delete(watch)
    }
  }

  private arm(at: number) {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.armedAt = at
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - performance.now()))
    this.timer.unref?.()
  }

  private fire() {
    this.timer = undefined
    this.armedAt = Infinity
    const now = performance.now()
    let next = Infinity
    const due: Array<Watch> = []
    for (const watch of this.active) {
      if (watch.at <= now) due.push(watch)
      else if (watch.at < next) next = watch.at
    }
    for (const watch of due) this.active.delete(watch)
    if (next !== Infinity) this.arm(next)
    for (const watch of due) watch.expire()
  }

  /** Stop watching everything (the adapter closed). */
  clear() {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.armedAt = Infinity
    this.active.clear()
  }
}
