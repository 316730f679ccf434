/** A small concurrency limiter for parallel blob transfers. */
export interface Limiter {
  <T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly pending: number;
}

export function createLimiter(concurrency: number): Limiter {
  const max = Math.max(1, Math.floor(concurrency) || 1);
  let active = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    if (active >= max) return;
    const start = queue.shift();
    if (start) start();
  };
  const limit = <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          active--;
          next();
        });
      });
      next();
    });
  Object.defineProperties(limit, {
    active: { get: () => active },
    pending: { get: () => queue.length },
  });
  return limit as Limiter;
}
