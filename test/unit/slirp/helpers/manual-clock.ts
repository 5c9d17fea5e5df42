/** One hand-moved clock for all slirp tests: the TCP tests' (timers fire in due order, ties in creation order). */
export { ManualClock } from '../tcp/support/manual-clock';
