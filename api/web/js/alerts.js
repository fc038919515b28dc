// The overview and the alerts view.
import { h, fill, timeEl, fmtNum, levelBadge, band, BANDS, routeQuery }
    from './util.js';
import * as api from './api.js';
import { bucketize, stackedColumns, legend } from './charts.js';

// Alerts read for the overview's chart and top lists, at most.
const OVERVIEW_MAX = 5000;

function topN(items, key, n) {
	const m = new Map();
	for (const it of items) {
		const k = key(it);
		if (k)
			m.set(k, (m.get(k) || 0) + 1);
	}
	return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ?
	    -1 : 1)).slice(0, n);
}

function barList(rows, link, label) {
	if (rows.length === 0)
		return h('p.muted', null, 'None.');
	const max = rows[0][1];
	return h('ol.bars', { 'aria-label': label }, rows.map(([name, n]) => {
		const fillEl = h('span.fill');
		fillEl.style.width = (100 * n / max).toFixed(1) + '%';
		return h('li', null,
		    h('a.name', { href: link(name), title: name }, fillEl, name),
		    h('span.n', null, fmtNum(n)));
	}));
}

function tile(n, label, alarm, href) {
	const body = [h('span.n', null, fmtNum(n)), h('span.l', null, label)];
	return h('div.tile' + (alarm ? '.alarm' : ''), null,
	    href ? h('a', { href }, body) : body);
}

export async function overviewView(main) {
	const q = routeQuery();
	const range = q.get('range') || 'all';
	const drills = q.get('drills') === '1';
	const params = { no_drill: !drills };
	if (range !== 'all')
		params.since = range;
	const [status, [alerts, complete], [incs], agentsRes] =
	    await Promise.all([
		api.get('/status'),
		api.getAll('/alerts', 'alerts', params, OVERVIEW_MAX),
		api.getAll('/incidents', 'incidents', { state: 'active' }, 5000),
		api.get('/agents'),
	    ]);
	const openIncs = incs.filter((i) => drills || !i.drill);
	const agents = agentsRes.agents || [];
	const silent = agents.filter((a) => !a.replay && (a.silent ||
	    a.state === 'disconnected'));
	const lag = status.engine ? status.engine.lag : 0;

	const rangeSel = h('select', { id: 'ov-range' },
	    [['all', 'latest alerts'], ['24h', 'last 24 hours'],
	    ['7d', 'last 7 days'], ['30d', 'last 30 days']].map(([v, t]) =>
	    h('option', { value: v, selected: v === range }, t)));
	const drillBox = h('input', { type: 'checkbox', id: 'ov-drills',
	    checked: drills });
	const apply = () => {
		location.hash = '#/overview' + api.qs({ range: rangeSel.value,
		    drills: drillBox.checked ? '1' : '' });
	};
	rangeSel.addEventListener('change', apply);
	drillBox.addEventListener('change', apply);

	const byBand = [0, 0, 0, 0];
	for (const i of openIncs)
		byBand[band(i.severity)]++;
	const sevRows = BANDS.map((b, i) => [b, byBand[i]]).reverse();

	fill(main,
	    h('h1', null, 'Overview'),
	    h('div.tiles', null,
		tile(status.engine ? status.engine.alerts : alerts.length,
		    'alerts stored', false, '#/alerts'),
		tile(openIncs.length, 'open incidents', openIncs.length > 0,
		    '#/incidents'),
		tile(silent.length, 'agents silent', silent.length > 0,
		    '#/agents'),
		tile(lag, 'events waiting for the engine', lag > 10000,
		    '#/agents')),
	    h('div.grid.overview', null,
		h('section.panel.wide', { 'aria-labelledby': 'ov-chart' },
		    h('div.filters', null,
			h('h2', { id: 'ov-chart' }, 'Alerts over time by level'),
			h('label', { for: 'ov-range' }, 'Range', rangeSel),
			h('label.check', { for: 'ov-drills' }, drillBox,
			    'include drills')),
		    alerts.length ? stackedColumns(bucketize(alerts, 48),
			'Alerts over time by level band') :
			h('p.muted', null, 'No alert in this range.'),
		    legend(),
		    h('p.muted', { id: 'ov-basis' }, fmtNum(alerts.length) +
			' alerts' + (complete ? '' : ' (the newest ' +
			fmtNum(OVERVIEW_MAX) + ')') + ' in the chart and ' +
			'the top lists.')),
		h('section.panel', { 'aria-labelledby': 'ov-rules' },
		    h('h2', { id: 'ov-rules' }, 'Top rules'),
		    barList(topN(alerts, (a) => a.rule && a.rule.id, 8),
			(r) => '#/alerts' + api.qs({ rule: r }), 'Top rules')),
		h('section.panel', { 'aria-labelledby': 'ov-hosts' },
		    h('h2', { id: 'ov-hosts' }, 'Top hosts'),
		    barList(topN(alerts, (a) => a.host, 8),
			(x) => '#/alerts' + api.qs({ host: x }), 'Top hosts')),
		h('section.panel', { 'aria-labelledby': 'ov-incs' },
		    h('h2', { id: 'ov-incs' }, 'Open incidents by severity'),
		    h('ul.bars', null, sevRows.map(([b, n]) =>
			h('li', null, h('span.name', null,
			    h('i.sev.b' + BANDS.indexOf(b)), ' ', b),
			    h('span.n', null, fmtNum(n))))),
		    openIncs.length ? h('ul', null, openIncs.slice(0, 4).map(
			(i) => h('li', null, h('a', { href: '#/incidents/' +
			i.id }, '#' + i.id + ' ' + i.title)))) : null),
		h('section.panel', { 'aria-labelledby': 'ov-silent' },
		    h('h2', { id: 'ov-silent' }, 'Agents silent'),
		    silent.length ? h('ul', null, silent.map((a) =>
			h('li', null, h('span.state.silent', null, a.name),
			    ' — last seen ', timeEl(a.last_seen)))) :
			h('p.muted', null, 'Every agent is reporting (' +
			fmtNum(agents.filter((a) => !a.replay).length) +
			' agents).'))));
}

// ---- the alerts view ----------------------------------------------------------

const FILTERS = ['since', 'until', 'min_level', 'host', 'rule', 'drill',
    'no_drill'];

function alertRow(a, fresh) {
	const tr = h('tr.click' + (fresh ? '.fresh' : ''), { tabindex: 0,
	    'aria-expanded': 'false', 'data-id': a.id },
	    h('td', null, timeEl(a.time)),
	    h('td', null, levelBadge(a.level)),
	    h('td', null, a.rule ? a.rule.id : '?'),
	    h('td', null, a.host || ''),
	    h('td', null, a.drill ? h('span.tag.drill', null, 'drill ' +
		a.drill) : (a.agent || '')),
	    h('td', null, a.rule ? a.rule.title : ''),
	    h('td.msg', { title: a.message || '' }, a.message || ''));
	const toggle = () => {
		const next = tr.nextElementSibling;
		if (next && next.classList.contains('detail')) {
			next.remove();
			tr.setAttribute('aria-expanded', 'false');
			return;
		}
		tr.setAttribute('aria-expanded', 'true');
		tr.after(h('tr.detail', null, h('td', { colspan: 7 },
		    alertDetail(a))));
	};
	tr.addEventListener('click', toggle);
	tr.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' || ev.key === ' ') {
			ev.preventDefault();
			toggle();
		}
	});
	return tr;
}

function alertDetail(a) {
	const facts = [
	    ['alert', '#' + a.id],
	    ['detected', timeEl(a.detected)],
	    ['rule', (a.rule ? a.rule.id + ' — ' + a.rule.title : '?')],
	    ['MITRE', a.rule && a.rule.mitre ? a.rule.mitre.join(', ') : '–'],
	    ['incident', a.incident ? h('a', { href: '#/incidents/' +
		a.incident }, '#' + a.incident) : '–'],
	];
	for (const [k, v] of Object.entries(a.fields || {}))
		facts.push([k, String(v)]);
	return h('div', null,
	    h('dl.facts', null, facts.map(([k, v]) => [h('dt', null, k),
		h('dd', null, v)])),
	    h('h3', null, 'Raw event'),
	    h('pre.raw', null, a.message || ''));
}

// Does a live alert pass the filters shown (the feed filters only by
// level and drills)?
function passes(a, f) {
	if (f.min_level && a.level < Number(f.min_level))
		return false;
	if (f.host && a.host !== f.host)
		return false;
	if (f.rule && (!a.rule || a.rule.id !== f.rule))
		return false;
	if (f.drill && a.drill !== f.drill)
		return false;
	if (f.no_drill && a.drill)
		return false;
	if (f.until)
		return false;	/* a bounded window gets no new alerts */
	return true;
}

export async function alertsView(main, _args, ctx) {
	const q = routeQuery();
	const f = {};
	for (const k of FILTERS)
		if (q.get(k))
			f[k] = q.get(k);
	const inputs = {
	    since: h('input', { id: 'f-since', value: f.since || '',
		placeholder: '1h, 7d, 2026-01-28T14:00:00Z' }),
	    until: h('input', { id: 'f-until', value: f.until || '',
		placeholder: 'duration or time' }),
	    min_level: h('input', { id: 'f-min-level', type: 'number', min: 0,
		max: 15, value: f.min_level || '' }),
	    host: h('input.wide', { id: 'f-host', value: f.host || '' }),
	    rule: h('input.wide', { id: 'f-rule', value: f.rule || '' }),
	    drills: h('select', { id: 'f-drills' },
		h('option', { value: '' }, 'real and drill alerts'),
		h('option', { value: 'no', selected: !!f.no_drill },
		    'real alerts only'),
		f.drill ? h('option', { value: 'drill', selected: true },
		    'drill ' + f.drill) : null),
	};
	const live = h('input', { type: 'checkbox', id: 'f-live',
	    checked: q.get('live') !== '0' });
	const submit = (ev) => {
		ev.preventDefault();
		const n = {};
		for (const k of ['since', 'until', 'min_level', 'host', 'rule'])
			if (inputs[k].value.trim())
				n[k] = inputs[k].value.trim();
		if (inputs.drills.value === 'no')
			n.no_drill = '1';
		if (inputs.drills.value === 'drill' && f.drill)
			n.drill = f.drill;
		if (!live.checked)
			n.live = '0';
		location.hash = '#/alerts' + api.qs(n);
	};
	const tbody = h('tbody', { id: 'alerts-body' });
	const more = h('button.secondary', { type: 'button', id: 'alerts-more',
	    hidden: true }, 'Older alerts');
	const count = h('p.muted', { id: 'alerts-count', role: 'status' });
	const err = h('p.error', { role: 'alert' });
	let cursor = null, shown = 0;

	const params = Object.assign({}, f, { limit: 100 });
	if (params.no_drill)
		params.no_drill = true;
	const load = async () => {
		const p = Object.assign({}, params);
		if (cursor)
			p.cursor = cursor;
		more.disabled = true;
		try {
			const page = await api.get('/alerts' + api.qs(p));
			for (const a of page.alerts)
				tbody.appendChild(alertRow(a, false));
			shown += page.alerts.length;
			cursor = page.next_cursor;
			more.hidden = !cursor;
			count.textContent = fmtNum(shown) + ' alert(s) shown' +
			    (cursor ? '; older ones follow' : '') + '.';
		} catch (e) {
			err.textContent = e.message + ' (' + e.code + ')';
		} finally {
			more.disabled = false;
		}
	};
	more.addEventListener('click', load);

	fill(main, h('h1', null, 'Alerts'),
	    h('form.filters', { onsubmit: submit, id: 'alerts-filters',
		'aria-label': 'Filters (those of tocsin alerts)' },
		h('label', { for: 'f-since' }, 'Since', inputs.since),
		h('label', { for: 'f-until' }, 'Until', inputs.until),
		h('label', { for: 'f-min-level' }, 'Min. level',
		    inputs.min_level),
		h('label', { for: 'f-host' }, 'Host', inputs.host),
		h('label', { for: 'f-rule' }, 'Rule id', inputs.rule),
		h('label', { for: 'f-drills' }, 'Drills', inputs.drills),
		h('label.check', { for: 'f-live' }, live, 'live updates'),
		h('button', { type: 'submit', id: 'alerts-apply' }, 'Filter')),
	    err,
	    h('div.panel.scroll', null, h('table', { id: 'alerts-table' },
		h('thead', null, h('tr', null, ['Time', 'Level', 'Rule',
		    'Host', 'Agent / drill', 'Title', 'Message'].map((t) =>
		    h('th', { scope: 'col' }, t)))),
		tbody)),
	    count, more);
	await load();
	if (!live.checked)
		return null;
	return ctx.onFeed((ev) => {
		if (ev.type !== 'alert' || !passes(ev.data, f))
			return;
		tbody.prepend(alertRow(ev.data, true));
		shown++;
		count.textContent = fmtNum(shown) + ' alert(s) shown' +
		    (cursor ? '; older ones follow' : '') + '.';
	});
}
