/** An injectable clock that honours SOURCE_DATE_EPOCH for reproducible output. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde && /^\d+$/.test(sde)) {
    const d = new Date(Number(sde) * 1000);
    return { now: () => d };
  }
  return systemClock;
}
