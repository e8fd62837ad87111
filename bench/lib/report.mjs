/** Results → Hearth/peer ratios, a Markdown report and an SVG chart of the ratios. */

import { METRICS } from './stats.mjs';

/**
 * Hearth/peer ratio of every Hearth row that names a `peer` (or several) and has a
 * measured peer row (same suite, model, threads, metric). Oriented so that > 1 means
 * Hearth is better: speed ratios for tok/s, inverse ratios for ms and bytes.
 */
export function ratios(rows) {
  const out = [];
  for (const h of rows) {
    for (const peer of [h.peer ?? []].flat()) {
      const p = rows.find(
        (r) =>
          r.suite === h.suite &&
          r.engine === peer &&
          r.model === h.model &&
          r.threads === h.threads &&
          r.metric === h.metric,
      );
      if (!p) continue;
      const ok = h.value !== null && p.value !== null && h.value > 0 && p.value > 0;
      out.push({
        suite: h.suite,
        model: h.model,
        threads: h.threads,
        metric: h.metric,
        engine: h.engine,
        peer,
        ratio: ok ? (h.better === 'lower' ? p.value / h.value : h.value / p.value) : null,
        ...(ok ? {} : { note: h.note ?? p.note ?? 'not measured' }),
      });
    }
  }
  return out;
}

/** A GPU adapter as a table cell: name, API, and whether it is a software one. */
export function adapterLabel(a) {
  if (!a) return '—';
  return `${a.name || a.description || a.architecture || 'unknown'} (${[a.backend, a.software ? 'software' : null].filter(Boolean).join(', ')})`;
}

const fmt = (v, unit) => {
  if (v === null || v === undefined) return 'n/a';
  if (unit === 'bytes') return (v / 2 ** 20).toFixed(0);
  if (unit === 'ms') return v < 100 ? v.toFixed(1) : v.toFixed(0);
  return v < 100 ? v.toFixed(1) : v.toFixed(0);
};

const label = (m) => METRICS[m]?.label ?? m;

/** The Markdown report: machine and load, one table per suite, then the ratios. */
export function markdown(res) {
  const L = [];
  const m = res.machine;
  L.push(`# Hearth benchmark, ${res.date}`, '');
  L.push(
    `Machine: ${m.cpu} (${m.cpu_flags.join(', ') || 'no AVX2'}), ${m.nproc} cores, ` +
      `${(m.memory_bytes / 2 ** 30).toFixed(0)} GiB; ${m.platform}; ${m.rustc ?? ''}; ${m.chromium ?? ''}; Node ${m.node}.`,
  );
  if (res.notes.length) L.push('', ...res.notes.map((n) => `- ${n}`));
  const suites = [...new Set(res.rows.map((r) => r.suite))];
  for (const suite of suites) {
    const rows = res.rows.filter((r) => r.suite === suite);
    const metrics = [...new Set(rows.map((r) => r.metric))].sort(
      (a, b) => metricOrder(a) - metricOrder(b),
    );
    const runs = res.suites.filter((s) => s.name === suite);
    L.push('', `## ${suite}: ${runs[0]?.description ?? suite}`, '');
    for (const info of runs) {
      const o = info.options;
      if (!o?.reps) continue;
      L.push(
        `- Run ${info.started_at.slice(0, 16).replace('T', ' ')} UTC: ${info.models.join(', ')} at ` +
          `${o.threads.join(', ')} thread(s); median of ${o.reps} run(s); prompts of ` +
          `${o.prompts.join(' and ')} tokens, decode ${o.decode} tokens. Load average (1/5/15 min) ` +
          `before: ${info.load.before.join(' / ')}, after: ${info.load.after.join(' / ')}.`,
      );
    }
    L.push('');
    // GPU suites say which adapter each row ran on (CPU rows: —).
    const gpu = rows.some((r) => r.adapter);
    L.push(
      `| model | threads | engine | ${gpu ? 'adapter | ' : ''}${metrics.map((x) => `${label(x)} (${unitOf(rows, x)})`).join(' | ')} |`,
    );
    L.push(`|${' --- |'.repeat(3 + (gpu ? 1 : 0) + metrics.length)}`);
    const keys = [...new Set(rows.map((r) => `${r.model}\t${r.threads}\t${r.engine}`))];
    for (const k of keys) {
      const [model, threads, engine] = k.split('\t');
      const first = rows.find(
        (r) => r.model === model && String(r.threads) === threads && r.engine === engine,
      );
      const cells = metrics.map((x) => {
        const r = rows.find(
          (r) =>
            r.model === model &&
            String(r.threads) === threads &&
            r.engine === engine &&
            r.metric === x,
        );
        return r ? (r.value === null ? (r.note ?? 'n/a') : fmt(r.value, r.unit)) : '';
      });
      const adapter = gpu ? `${adapterLabel(first?.adapter)} | ` : '';
      L.push(`| ${model} | ${threads} | ${engine} | ${adapter}${cells.join(' | ')} |`);
    }
    // One ratio table per engine/peer pair (a GPU suite has GPU/CPU and GPU/peer-GPU).
    const pairs = [
      ...new Set(res.ratios.filter((r) => r.suite === suite).map((r) => `${r.engine}\t${r.peer}`)),
    ];
    for (const pair of pairs) {
      const rs = res.ratios.filter((r) => r.suite === suite && `${r.engine}\t${r.peer}` === pair);
      const rm = [...new Set(rs.map((r) => r.metric))].sort(
        (a, b) => metricOrder(a) - metricOrder(b),
      );
      const who = rs[0].engine === 'hearth' ? 'Hearth' : rs[0].engine;
      L.push('', `${who} / ${rs[0].peer} (× ; above 1 means ${who} is faster or smaller):`, '');
      L.push(`| model | threads | ${rm.map(label).join(' | ')} |`);
      L.push(`|${' --- |'.repeat(2 + rm.length)}`);
      for (const k of [...new Set(rs.map((r) => `${r.model}\t${r.threads}`))]) {
        const [model, threads] = k.split('\t');
        const cells = rm.map((x) => {
          const r = rs.find(
            (r) => r.model === model && String(r.threads) === threads && r.metric === x,
          );
          return r?.ratio == null ? 'n/a' : `${r.ratio.toFixed(2)}×`;
        });
        L.push(`| ${model} | ${threads} | ${cells.join(' | ')} |`);
      }
    }
  }
  if (res.errors.length) {
    L.push('', '## Errors', '', ...res.errors.map((e) => `- ${e.suite}: ${e.message}`));
  }
  return `${L.join('\n')}\n`;
}

function metricOrder(m) {
  const i = Object.keys(METRICS).indexOf(m);
  return i < 0 ? 100 : i;
}

function unitOf(rows, metric) {
  const u = rows.find((r) => r.metric === metric)?.unit ?? '';
  return u === 'bytes' ? 'MiB' : u;
}

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG bar chart of the speed ratios (prefill and decode), with a line at 1×. */
export function svg(res) {
  const speed = ['pp16_tok_s', 'pp64_tok_s', 'pp512_tok_s', 'decode_tok_s'];
  const rs = res.ratios
    .filter((r) => speed.includes(r.metric) || METRICS[r.metric] === undefined)
    .sort(
      (a, b) =>
        a.suite.localeCompare(b.suite) ||
        a.model.localeCompare(b.model) ||
        a.threads - b.threads ||
        metricOrder(a.metric) - metricOrder(b.metric),
    );
  const max = Math.max(2, ...rs.map((r) => r.ratio ?? 0)) * 1.1;
  const barH = 14;
  const gap = 4;
  const left = 330;
  const width = 900;
  const plotW = width - left - 70;
  const top = 40;
  const height = top + rs.length * (barH + gap) + 40;
  const x = (v) => Math.round((left + (v / max) * plotW) * 10) / 10;
  const color = {
    pp16_tok_s: '#9c755f',
    pp64_tok_s: '#4e79a7',
    pp512_tok_s: '#59a14f',
    decode_tok_s: '#e15759',
  };
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>Hearth / peer speed ratios, ${esc(res.date)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Hearth / peer speed ratio (${esc(res.date)}; above 1× = Hearth faster)</text>`,
  ];
  rs.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const who = r.engine === 'hearth' ? '' : `${r.engine} `;
    const name = `${r.suite} · ${r.model} · ${r.threads}t · ${label(r.metric)} ${who}vs ${r.peer}`;
    out.push(`<text x="${left - 6}" y="${y + barH - 3}" text-anchor="end">${esc(name)}</text>`);
    if (r.ratio === null) {
      out.push(
        `<text x="${left + 4}" y="${y + barH - 3}" fill="#888">${esc(r.note ?? 'n/a')}</text>`,
      );
    } else {
      out.push(
        `<rect x="${left}" y="${y}" width="${(x(r.ratio) - left).toFixed(1)}" height="${barH}" fill="${color[r.metric] ?? '#76b7b2'}"/>`,
        `<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + barH - 3}">${r.ratio.toFixed(2)}×</text>`,
      );
    }
  });
  const bottom = top + rs.length * (barH + gap);
  for (const t of [0, 1, 2, 3, 4, 5].filter((t) => t <= max)) {
    out.push(
      `<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${bottom}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
      `<text x="${x(t)}" y="${bottom + 14}" text-anchor="middle">${t}×</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
