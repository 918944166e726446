/**
 * Extrapolates agents' figures between two reports. An agent reports the
 * load of the interval just ended, and the poller refreshes the figures once
 * a second, so a selector that always takes the lowest figure sends every
 * request to one backend until the next report: the traffic moves as a herd,
 * overloading each backend in turn (Mitzenmacher, "How useful is old
 * information?", IEEE TPDS 2000).
 *
 * The balancer knows what it has sent since: a backend that was sent `q`
 * requests over the interval a report covers and has been sent `n` since is
 * predicted at `reported × (1 + n / q)`, the load the report implies per
 * request, scaled by the requests added. Lowest-predicted routing then
 * interleaves the backends, and its fixed point is the split that equalises
 * the figures (utilisation per request-rate, as Envoy's ORCA-weighted
 * round-robin uses). A backend sent (almost) nothing in the last interval is
 * credited a tenth of the mean count, so one request does not look like its
 * whole load and it is still tried.
 *
 * A new interval starts when every fresh figure is newer than the newest one
 * seen when the last interval started, i.e. once the agents' next round of
 * reports is in; counts are per selector, so several balancer instances each
 * scale by their own share of the traffic.
 */

/** Share of the mean count credited to a backend that got (almost) nothing last interval. */
const FLOOR_SHARE = 0.1;

export class RoutedSinceReport {
  /** Requests sent per backend index since the current interval started. */
  #since = new Float64Array(0);
  /** Requests sent per backend index over the previous interval. */
  #interval = new Float64Array(0);
  #floor = 1;
  /** Newest figure time when the current interval started. */
  #intervalStart = Number.NEGATIVE_INFINITY;
  /** Oldest and newest fresh figure times seen in the scan in progress. */
  #oldest = Number.POSITIVE_INFINITY;
  #newest = Number.NEGATIVE_INFINITY;

  /** Forgets all counts, for a new backend list of `count` backends. */
  reset(count: number): void {
    this.#since = new Float64Array(count);
    this.#interval = new Float64Array(count);
    this.#floor = 1;
    this.#intervalStart = Number.NEGATIVE_INFINITY;
  }

  /** Starts a scan of the backends' figures. */
  beginScan(): void {
    this.#oldest = Number.POSITIVE_INFINITY;
    this.#newest = Number.NEGATIVE_INFINITY;
  }

  /** A fresh figure taken at `at` (the store's clock) was read. */
  sampled(at: number): void {
    if (at < this.#oldest) this.#oldest = at;
    if (at > this.#newest) this.#newest = at;
  }

  /** Ends the scan: when a full new round of figures is in, the counts roll into a new interval. */
  endScan(): void {
    if (this.#newest === Number.NEGATIVE_INFINITY || this.#oldest <= this.#intervalStart) return;
    this.#intervalStart = this.#newest;
    const since = this.#since;
    this.#since = this.#interval;
    this.#interval = since;
    this.#since.fill(0);
    let total = 0;
    for (const count of since) total += count;
    this.#floor = Math.max(1, (FLOOR_SHARE * total) / Math.max(1, since.length));
  }

  /** Backend `index` was sent a request. */
  routed(index: number): void {
    this.#since[index] = (this.#since[index] as number) + 1;
  }

  /** What a figure of backend `index` is multiplied by: 1 + sent since / sent over the last interval. */
  factor(index: number): number {
    return 1 + (this.#since[index] as number) / this.#perInterval(index);
  }

  /** "12 sent since the report, 40 over the interval before" for explanations. */
  describe(index: number): string {
    const perInterval = Math.round(this.#perInterval(index) * 10) / 10;
    return `${this.#since[index]} sent since the report, ${perInterval} over the interval before`;
  }

  #perInterval(index: number): number {
    return Math.max(this.#interval[index] as number, this.#floor);
  }
}
