/** Sampling controls: every option maps one to one onto `GenerateOptions`. */

import type { HookGenerateOptions } from '@hearth/react';

export interface Sampling {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  seed: number;
  maxTokens: number;
}

/** The runner's defaults, with a short answer. */
export const DEFAULT_SAMPLING: Sampling = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  seed: 42,
  maxTokens: 128,
};

const FIELDS: { key: keyof Sampling; label: string; min: number; max?: number; step: number }[] = [
  { key: 'temperature', label: 'temperature', min: 0, max: 2, step: 0.05 },
  { key: 'topK', label: 'top-k', min: 0, step: 1 },
  { key: 'topP', label: 'top-p', min: 0.01, max: 1, step: 0.01 },
  { key: 'minP', label: 'min-p', min: 0, max: 1, step: 0.01 },
  { key: 'repeatPenalty', label: 'repeat penalty', min: 0.1, max: 2, step: 0.05 },
  { key: 'seed', label: 'seed', min: 0, step: 1 },
  { key: 'maxTokens', label: 'max tokens', min: 1, max: 4096, step: 1 },
];

/** The options of a request. */
export function toGenerateOptions(s: Sampling): HookGenerateOptions {
  return { ...s };
}

export function SamplingControls({
  value,
  onChange,
}: {
  value: Sampling;
  onChange: (value: Sampling) => void;
}) {
  return (
    <section className="panel sampling">
      <h2>Sampling</h2>
      {FIELDS.map((f) => (
        <label key={f.key}>
          {f.label}
          <input
            type="number"
            data-testid={`sampling-${f.key}`}
            min={f.min}
            max={f.max}
            step={f.step}
            value={value[f.key]}
            onChange={(e) => {
              const n = e.currentTarget.valueAsNumber;
              if (Number.isFinite(n)) onChange({ ...value, [f.key]: n });
            }}
          />
        </label>
      ))}
    </section>
  );
}
