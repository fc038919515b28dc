// Charts as plain SVG: a stacked column chart (alerts over time by level
// band) and horizontal bars against a limit (drill times to detect).
import { h, s, fmtNum, fmtMs, fmtTimeShort, BANDS } from './util.js';

// Choose a bucket width for a span: the smallest "nice" width giving at
// most maxBuckets columns.
const STEPS = [60e3, 5 * 60e3, 15 * 60e3, 3600e3, 3 * 3600e3, 6 * 3600e3,
    12 * 3600e3, 86400e3, 7 * 86400e3, 30 * 86400e3, 365 * 86400e3];

export function bucketize(alerts, maxBuckets) {
	if (alerts.length === 0)
		return { step: 3600e3, start: Date.now(), counts: [] };
	let lo = Infinity, hi = -Infinity;
	for (const a of alerts) {
		const t = Date.parse(a.time);
		if (isNaN(t))
			continue;
		lo = Math.min(lo, t);
		hi = Math.max(hi, t);
	}
	const span = Math.max(hi - lo, 1);
	let step = STEPS[STEPS.length - 1];
	for (const st of STEPS)
		if (span / st <= maxBuckets) {
			step = st;
			break;
		}
	const start = Math.floor(lo / step) * step;
	const n = Math.floor((hi - start) / step) + 1;
	const counts = Array.from({ length: n }, () => [0, 0, 0, 0]);
	for (const a of alerts) {
		const t = Date.parse(a.time);
		if (isNaN(t))
			continue;
		const l = Number(a.level) || 0;
		const b = l >= 12 ? 3 : l >= 8 ? 2 : l >= 4 ? 1 : 0;
		counts[Math.floor((t - start) / step)][b]++;
	}
	return { step, start, counts };
}

// Stacked columns.  data: bucketize()'s.  A <title> on each column says
// its time and counts (screen readers, tooltips); a table alternative is
// the caller's (the top lists).
export function stackedColumns(data, label) {
	const W = 640, H = 200, L = 40, B = 22, T = 8, R = 6;
	const n = data.counts.length;
	const totals = data.counts.map((c) => c.reduce((x, y) => x + y, 0));
	const max = Math.max(1, ...totals);
	const cw = (W - L - R) / Math.max(n, 1);
	const y = (v) => T + (H - T - B) * (1 - v / max);
	const svg = s('svg.chart', { viewBox: `0 0 ${W} ${H}`, role: 'img',
	    'aria-label': label });
	// grid lines at 0, max/2, max
	for (const v of [0, Math.round(max / 2), max]) {
		svg.appendChild(s('line.axis', { x1: L, x2: W - R, y1: y(v),
		    y2: y(v) }));
		svg.appendChild(s('text', { x: L - 4, y: y(v) + 4,
		    'text-anchor': 'end' }, fmtNum(v)));
	}
	data.counts.forEach((c, i) => {
		const g = s('g');
		let acc = 0;
		const x = L + i * cw + Math.min(1, cw * 0.1);
		const w = Math.max(1, cw - Math.min(2, cw * 0.2));
		for (let b = 0; b < 4; b++) {
			if (!c[b])
				continue;
			const y1 = y(acc + c[b]), y0 = y(acc);
			g.appendChild(s('rect', { x, y: y1, width: w,
			    height: Math.max(0.5, y0 - y1), class: 'b' + b }));
			acc += c[b];
		}
		const when = fmtTimeShort(data.start + i * data.step);
		g.appendChild(s('title', null, when + ': ' + fmtNum(totals[i]) +
		    ' alerts (' + c.map((v, b) => BANDS[b] + ' ' + v)
		    .join(', ') + ')'));
		svg.appendChild(g);
	});
	// a few time labels
	const every = Math.max(1, Math.ceil(n / 6));
	for (let i = 0; i < n; i += every)
		if (L + i * cw + 80 <= W)	/* room for the label */
			svg.appendChild(s('text', { x: L + i * cw, y: H - 6 },
			    fmtTimeShort(data.start + i * data.step)));
	return svg;
}

export function legend() {
	return h('div.legend', null, BANDS.map((b, i) =>
	    h('span', null, h('i.b' + i), 'level ' + b)));
}

// Horizontal bars: rows [{label, value(ms or null), limit(ms or null),
// ok}], drawn against the largest value or limit.
export function limitBars(rows, label) {
	const W = 1000, rowH = 26, L = 300, R = 90;
	const H = rows.length * rowH + 8;
	const max = Math.max(1, ...rows.map((r) => Math.max(r.value || 0,
	    r.limit || 0)));
	const x = (v) => L + (W - L - R) * v / max;
	const svg = s('svg.chart.wide', { viewBox: `0 0 ${W} ${H}`,
	    role: 'img', 'aria-label': label });
	rows.forEach((r, i) => {
		const y = 4 + i * rowH;
		svg.appendChild(s('text', { x: L - 6, y: y + 15,
		    'text-anchor': 'end' }, r.label.length > 44 ?
		    r.label.slice(0, 43) + '…' : r.label));
		if (typeof r.value === 'number')
			svg.appendChild(s('rect', { x: L, y: y + 4,
			    width: Math.max(1, x(r.value) - L), height: 14,
			    class: r.ok ? 'ok' : 'bad' }));
		if (typeof r.limit === 'number')
			svg.appendChild(s('line', { x1: x(r.limit),
			    x2: x(r.limit), y1: y, y2: y + 22,
			    class: 'limit' }));
		svg.appendChild(s('text', { x: W - R + 6, y: y + 15 },
		    typeof r.value === 'number' ? fmtMs(r.value) : 'not detected'));
	});
	return svg;
}
