/** The model cache (`ModelCache` of `@hearth/runner`): what `load` stored, its size, delete. */

import { useHearthModel } from '@hearth/react';
import { type CacheEntry, ModelCache } from '@hearth/runner';
import { useCallback, useEffect, useState } from 'react';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function CachePanel() {
  const { status } = useHearthModel();
  const [entries, setEntries] = useState<CacheEntry[] | undefined>(undefined);
  const [usage, setUsage] = useState<{ used: number; quota?: number } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const refresh = useCallback(async () => {
    try {
      const cache = await ModelCache.open();
      const [list, used] = await Promise.all([cache.list(), cache.usage()]);
      setEntries(list);
      setUsage(used);
      setError(undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  // A load may have added an entry: list again whenever the model's status changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `status` is the trigger.
  useEffect(() => {
    void refresh();
  }, [refresh, status]);

  return (
    <section className="panel cache">
      <h2>
        Model cache{' '}
        <button type="button" data-testid="cache-refresh" onClick={() => void refresh()}>
          Refresh
        </button>
      </h2>
      {usage && (
        <p className="muted" data-testid="cache-usage">
          {entries?.[0]?.store ?? 'indexeddb'}: {mib(usage.used)} used
          {usage.quota !== undefined ? ` of ${mib(usage.quota)}` : ''}
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {entries && entries.length === 0 && <p className="muted">empty</p>}
      {entries && entries.length > 0 && (
        <table data-testid="cache-entries">
          <thead>
            <tr>
              <th>model</th>
              <th>size</th>
              <th>stored</th>
              <th>last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr
                key={e.key}
                data-testid="cache-entry"
                data-size={e.size}
                data-complete={e.complete}
              >
                <td title={e.url}>{e.name ?? e.url}</td>
                <td>{mib(e.size)}</td>
                <td>{e.complete ? 'complete' : `${mib(e.storedBytes)} (partial)`}</td>
                <td>{new Date(e.lastUsedAt).toLocaleString()}</td>
                <td>
                  <button
                    type="button"
                    data-testid="cache-delete"
                    onClick={async () => {
                      try {
                        await (
                          await ModelCache.open(e.store === 'fs' ? undefined : e.store)
                        ).delete(e.key);
                      } finally {
                        await refresh();
                      }
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
