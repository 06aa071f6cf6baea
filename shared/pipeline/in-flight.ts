/**
 * What one function instance knows about the deliveries it is handling:
 * - InFlight: the same message delivered twice at the same time runs once (the second waits for
 *   the first), since both would build or judge the same days;
 * - Deliveries: every delivery from its first line to its answer, so closing the instance can wait
 *   for them instead of closing the ports under a running one.
 */

/** Runs keyed by function and message id, while they run. */
export class InFlight {
  private readonly running = new Map<string, Promise<void>>();

  /** The run already going under this key, if any. */
  get(key: string): Promise<void> | undefined {
    return this.running.get(key);
  }

  /** Runs `run` under `key` until it settles. */
  async hold(key: string, run: Promise<void>): Promise<void> {
    this.running.set(key, run);
    try {
      await run;
    } finally {
      this.running.delete(key);
    }
  }
}

/** The deliveries being handled. */
export class Deliveries {
  private readonly handling = new Set<Promise<void>>();

  /** Tracks `delivery` until it settles, and returns it. */
  track(delivery: Promise<void>): Promise<void> {
    this.handling.add(delivery);
    const forget = () => this.handling.delete(delivery);
    delivery.then(forget, forget);
    return delivery;
  }

  /** Resolves once no delivery is being handled (those that start meanwhile included). */
  async idle(): Promise<void> {
    while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
  }
}
