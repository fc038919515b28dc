// The incident board and the incident page (timeline, actions).
import { h, fill, timeEl, fmtNum, levelBadge, band, routeQuery }
    from './util.js';
import * as api from './api.js';

const COLUMNS = [
	['open', 'Open', (i) => i.state === 'open'],
	['acknowledged', 'Acknowledged', (i) => i.state === 'acknowledged'],
	['closed', 'Resolved and false positives', (i) =>
	    i.state === 'resolved' || i.state === 'false_positive'],
];

function card(i) {
	return h('a.card.b' + band(i.severity), { href: '#/incidents/' + i.id,
	    'data-id': i.id },
	    h('span.t', null, '#' + i.id + ' ' + i.title),
	    h('span.m', null, levelBadge(i.severity), ' ',
		fmtNum(i.alert_count) + ' alert(s) · last ',
		timeEl(i.last_seen), i.assignee ? ' · ' + i.assignee : '',
		i.drill ? [' ', h('span.tag.drill', null, 'drill')] : ''));
}

export async function boardView(main, _args, ctx) {
	await renderBoard(main);
	// a change to any incident: show the board again
	let timer = null;
	const off = ctx.onFeed((ev) => {
		if (ev.type !== 'incident')
			return;
		clearTimeout(timer);
		timer = setTimeout(() => renderBoard(main).catch(() => {}), 1000);
	});
	return () => {
		clearTimeout(timer);
		off();
	};
}

async function renderBoard(main) {
	const q = routeQuery();
	const drills = q.get('drills') === '1';
	const minSev = q.get('min_severity') || '';
	const [all, complete] = await api.getAll('/incidents', 'incidents',
	    { min_severity: minSev }, 2000);
	const incs = all.filter((i) => drills || !i.drill);
	const sevIn = h('input', { id: 'b-min-sev', type: 'number', min: 0,
	    max: 15, value: minSev });
	const drillBox = h('input', { type: 'checkbox', id: 'b-drills',
	    checked: drills });
	const apply = (ev) => {
		ev.preventDefault();
		location.hash = '#/incidents' + api.qs({
		    min_severity: sevIn.value, drills: drillBox.checked ? '1' :
		    '' });
	};
	fill(main, h('h1', null, 'Incidents'),
	    h('form.filters', { onsubmit: apply },
		h('label', { for: 'b-min-sev' }, 'Min. severity', sevIn),
		h('label.check', { for: 'b-drills' }, drillBox,
		    'include drills'),
		h('button', { type: 'submit' }, 'Show'),
		complete ? null : h('span.muted', null, 'the newest ' +
		    fmtNum(all.length) + ' incidents')),
	    h('div.board', { id: 'board' }, COLUMNS.map(([key, title, test]) => {
		const list = incs.filter(test).sort((a, b) =>
		    b.severity - a.severity || b.id - a.id);
		return h('section.col', { 'aria-labelledby': 'col-' + key,
		    'data-state': key },
		    h('h2', { id: 'col-' + key }, h('span', null, title),
			h('span.muted', null, fmtNum(list.length))),
		    list.length ? list.map(card) : h('p.muted', null, 'None.'));
	    })));
}

// ---- one incident -----------------------------------------------------------------

const CHANGE_TEXT = {
	opened: 'opened',
	alert: 'alert joined',
	escalated: 'escalated',
	acknowledged: 'acknowledged',
	resolved: 'resolved',
	reopened: 'reopened',
	false_positive: 'marked false positive',
	assigned: 'assigned',
	note: 'note',
	removed: 'removed (drill clean)',
};

function timeline(inc, alerts, history) {
	const byId = new Map(alerts.map((a) => [a.id, a]));
	const seen = new Set();
	const items = [];
	for (const c of history) {
		const a = c.alert ? byId.get(c.alert) : null;
		if (a)
			seen.add(a.id);
		items.push({ t: c.time_us ? c.time_us / 1000 :
		    Date.parse(c.time), node: historyItem(c, a) });
	}
	for (const a of alerts)
		if (!seen.has(a.id))
			items.push({ t: Date.parse(a.detected || a.time),
			    node: h('li', null, h('span.when', null,
				timeEl(a.detected || a.time)),
				levelBadge(a.level), ' alert ',
				alertText(a)) });
	items.sort((x, y) => x.t - y.t);
	return h('ol.timeline', { id: 'timeline' }, items.map((i) => i.node));
}

function alertText(a) {
	return [h('strong', null, a.rule ? a.rule.title : '?'),
	    ' on ', a.host || '?', h('span.muted', null, ' (' +
	    (a.rule ? a.rule.id : '') + ', #' + a.id + ')')];
}

function historyItem(c, a) {
	const analyst = c.by && c.by !== 'engine';
	return h('li' + (analyst ? '.act' : ''), { 'data-change': c.change },
	    h('span.when', null, timeEl(c.time_us ? c.time_us / 1000 : c.time)),
	    h('strong', null, CHANGE_TEXT[c.change] || c.change),
	    c.change === 'assigned' && c.assignee ? ' to ' + c.assignee : '',
	    ' by ', h('span.by', null, c.by || '?'),
	    a ? [': ', levelBadge(a.level), ' ', alertText(a)] : '',
	    c.snapshot && c.change === 'escalated' ? ' (severity ' +
		c.snapshot.severity + ')' : '',
	    c.note ? h('span.note', null, c.note) : '');
}

function facts(inc) {
	const ent = inc.entities || {};
	const rows = [
	    ['state', h('span.state.' + inc.state, { id: 'inc-state' },
		inc.state.replace('_', ' '))],
	    ['severity', levelBadge(inc.severity)],
	    ['assignee', h('span', { id: 'inc-assignee' }, inc.assignee ||
		'nobody')],
	    ['alerts', fmtNum(inc.alert_count)],
	    ['first seen', timeEl(inc.first_seen)],
	    ['last seen', timeEl(inc.last_seen)],
	    ['created', timeEl(inc.created)],
	    ['updated', timeEl(inc.updated)],
	    ['MITRE', (inc.mitre || []).join(', ') || '–'],
	];
	for (const k of ['host', 'srcip', 'user'])
		if (ent[k] && ent[k].length)
			rows.push([k, ent[k].join(', ')]);
	if (inc.drill)
		rows.push(['drill', h('span.tag.drill', null, inc.drill)]);
	return h('dl.facts', null, rows.map(([k, v]) => [h('dt', null, k),
	    h('dd', null, v)]));
}

export async function incidentView(main, args, ctx) {
	const id = Number(args[0]);
	const view = { busy: false };
	await renderIncident(main, id, ctx, view);
	return ctx.onFeed((ev) => {
		const a = document.activeElement;
		if (ev.type === 'incident' && ev.data.incident === id &&
		    !view.busy && !(a && (a.id === 'act-note' ||
		    a.id === 'act-assignee')))
			renderIncident(main, id, ctx, view).catch(() => {});
	});
}

async function renderIncident(main, id, ctx, view) {
	const data = await api.get('/incidents/' + id);
	const inc = data.incident;
	const may = api.can('analyst');
	const note = h('textarea', { id: 'act-note', maxlength: 4000,
	    placeholder: 'What you saw, what you did (optional for the ' +
	    'buttons, needed for "Add note")' });
	const assignee = h('input', { id: 'act-assignee',
	    value: inc.assignee || '', autocomplete: 'off' });
	const status = h('p.muted', { role: 'status', id: 'act-status' });
	const act = async (action, body, btn) => {
		btn.disabled = true;
		view.busy = true;
		status.textContent = 'Sending…';
		try {
			const b = Object.assign({}, body);
			if (note.value.trim() && action !== 'note')
				b.note = note.value.trim();
			const res = await api.post('/incidents/' + id + '/' +
			    action, b);
			if (res && res.status === 'queued')
				ctx.toast('Queued: the engine is not running; ' +
				    'it applies the change when it starts.');
			else
				ctx.toast('Incident #' + id + ': ' + action +
				    ' done.');
			note.value = '';
			view.busy = false;
			await renderIncident(main, id, ctx, view);
		} catch (e) {
			view.busy = false;
			status.textContent = '';
			ctx.toast((e.code === 'refused' ? 'Refused: ' : '') +
			    e.message, true);
			btn.disabled = false;
		}
	};
	const button = (action, label, cls, enabled, body) => {
		const b = h('button' + (cls ? '.' + cls : ''), { type: 'button',
		    id: 'act-' + action, disabled: !enabled || !may });
		b.textContent = label;
		b.addEventListener('click', () => act(action, body ? body() :
		    {}, b));
		return b;
	};
	const st = inc.state;
	const closed = st === 'resolved' || st === 'false_positive';
	const noteBtn = button('note', 'Add note', 'secondary', true,
	    () => ({ note: note.value.trim() }));
	noteBtn.addEventListener('click', (ev) => {
		if (!note.value.trim()) {
			ev.stopImmediatePropagation();
			ctx.toast('Write the note first.', true);
		}
	}, { capture: true });
	fill(main,
	    h('div.inc-head', null,
		h('h1', null, 'Incident #' + inc.id + ' — ' + inc.title),
		h('a', { href: '#/incidents' }, '← all incidents')),
	    h('div.inc-grid', null,
		h('section.panel', { 'aria-labelledby': 'tl-h' },
		    h('h2', { id: 'tl-h' }, 'Timeline: alerts and actions'),
		    timeline(inc, data.alerts || [], data.history || [])),
		h('div', null,
		    h('section.panel', { 'aria-labelledby': 'facts-h' },
			h('h2', { id: 'facts-h' }, 'Facts'), facts(inc)),
		    h('section.panel.actions', { 'aria-labelledby': 'act-h' },
			h('h2', { id: 'act-h' }, 'Act'),
			may ? null : h('p.muted', null, 'Your role (' +
			    api.currentSession().role + ') may read only.'),
			h('div.row', null,
			    button('ack', 'Acknowledge', '', st === 'open'),
			    button('resolve', 'Resolve', '', !closed),
			    button('false-positive', 'False positive',
				'danger', !closed),
			    button('reopen', 'Reopen', 'secondary', closed)),
			h('label', { for: 'act-assignee' }, 'Assign to'),
			h('div.row', null, assignee,
			    button('assign', 'Assign', 'secondary', true,
				() => ({ assignee: assignee.value.trim() }))),
			h('label', { for: 'act-note' }, 'Note'), note,
			h('div.row', null, noteBtn),
			status))));
}
