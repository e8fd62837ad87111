/** Live stream statistics: chunks, time to first token and tokens per second. */

import type { GenerationResult, TokenChunk } from '@hearth/runner';
import { useCallback, useRef, useState } from 'react';

interface Live {
  startedAt: number;
  firstAt: number | undefined;
  lastAt: number | undefined;
  tokens: number;
}

/**
 * Counts token chunks as they stream (`onChunk`), from `begin()` on; `markStop()`
 * records the count at the moment Stop is clicked (the end-to-end test checks
 * that at most one more token follows).
 */
export function useStreamStats() {
  const live = useRef<Live>({ startedAt: 0, firstAt: undefined, lastAt: undefined, tokens: 0 });
  const [snapshot, setSnapshot] = useState<Live>(live.current);
  const [tokensAtStop, setTokensAtStop] = useState<number | undefined>(undefined);

  const begin = useCallback(() => {
    live.current = {
      startedAt: performance.now(),
      firstAt: undefined,
      lastAt: undefined,
      tokens: 0,
    };
    setSnapshot(live.current);
    setTokensAtStop(undefined);
  }, []);

  const onChunk = useCallback((chunk: TokenChunk) => {
    if (chunk.token === null) return;
    const now = performance.now();
    const l = live.current;
    live.current = { ...l, firstAt: l.firstAt ?? now, lastAt: now, tokens: l.tokens + 1 };
    setSnapshot(live.current);
  }, []);

  const markStop = useCallback(() => setTokensAtStop(live.current.tokens), []);

  return { snapshot, tokensAtStop, begin, onChunk, markStop };
}

/** One line of statistics: live while streaming, the engine's timings when done. */
export function Stats({
  stats,
  tokensAtStop,
  result,
  streaming,
}: {
  stats: Live;
  tokensAtStop: number | undefined;
  result: GenerationResult | undefined;
  streaming: boolean;
}) {
  const { startedAt, firstAt, lastAt, tokens } = stats;
  const ttft = firstAt === undefined ? undefined : firstAt - startedAt;
  const tokS =
    firstAt !== undefined && lastAt !== undefined && tokens > 1
      ? ((tokens - 1) * 1000) / (lastAt - firstAt)
      : undefined;
  const t = !streaming ? result?.timings : undefined;
  return (
    <p
      className="stats"
      data-testid="stats"
      data-tokens={tokens}
      data-tokens-at-stop={tokensAtStop}
      data-finish={streaming ? undefined : result?.finishReason}
    >
      <span>tokens {tokens}</span>
      <span>TTFT {fmt(t ? t.ttftMs : ttft, 'ms', 0)}</span>
      <span>{fmt(t ? t.decodeTokS : tokS, 'tok/s', 1)}</span>
      {t && <span>prefill {fmt(t.prefillTokS, 'tok/s', 0)}</span>}
      {!streaming && result && <span>finish: {result.finishReason}</span>}
    </p>
  );
}

function fmt(value: number | undefined, unit: string, digits: number): string {
  return value === undefined || !Number.isFinite(value)
    ? `– ${unit}`
    : `${value.toFixed(digits)} ${unit}`;
}
