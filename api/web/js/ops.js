// Agents and the server's health; drills (scenarios, runs, scorecards).
import { h, fill, timeEl, fmtNum, fmtMs, routeQuery } from './util.js';
import * as api from './api.js';
import { limitBars } from './charts.js';

// ---- agents and health ----------------------------------------------------------

// Counters whose growth means something was refused, dropped or failed.
const ALARMING = /(drop|refus|fail|error|full|lost|capped|evicted|overflow|gap|malformed|timeout)/;

function agentState(a) {
	if (a.replay)
		return h('span.state', null, 'drill replay');
	if (a.silent)
		return h('span.state.silent', null, 'silent');
	return h('span.state.' + a.state, null, (a.state || '?').replace('_',
	    ' '));
}

export async function agentsView(main) {
	await renderAgents(main);
	// health moves: look again every 10 s while the page is shown
	const t = setInterval(() => {
		if (document.visibilityState === 'visible')
			renderAgents(main).catch(() => {});
	}, 10000);
	return () => clearInterval(t);
}

// The counter filter, kept across the refreshes.
const counterView = { text: '', nonzero: true };

async function renderAgents(main) {
	const [res, status] = await Promise.all([api.get('/agents'),
	    api.get('/status')]);
	const agents = (res.agents || []).sort((a, b) => (a.replay ? 1 : 0) -
	    (b.replay ? 1 : 0) || (a.name < b.name ? -1 : 1));
	const counters = Object.entries(status.counters || {}).sort();
	const onlyNonZero = h('input', { type: 'checkbox', id: 'c-nonzero',
	    checked: counterView.nonzero });
	const filter = h('input', { id: 'c-filter', placeholder: 'name…',
	    value: counterView.text });
	const cbody = h('tbody');
	const showCounters = () => {
		counterView.text = filter.value;
		counterView.nonzero = onlyNonZero.checked;
		const f = filter.value.trim().toLowerCase();
		fill(cbody, counters.filter(([k, v]) => (!onlyNonZero.checked ||
		    v !== 0) && (!f || k.toLowerCase().includes(f)))
		    .map(([k, v]) => h('tr', null,
			h('td', null, k),
			h('td.num' + (ALARMING.test(k) && v > 0 ? '.error' : ''),
			    null, fmtNum(v)))));
	};
	onlyNonZero.addEventListener('change', showCounters);
	filter.addEventListener('input', showCounters);
	showCounters();
	const procs = status.processes || [];
	fill(main, h('h1', null, 'Agents and health'),
	    h('div.tiles', null,
		procs.map((p) => h('div.tile' + (p.running ? '' : '.alarm'),
		    null, h('span.n', null, p.running ? 'up' : 'down'),
		    h('span.l', null, p.name + (p.pid ? ' (pid ' + p.pid + ')' :
		    ''))))),
	    h('p.muted', null, 'tocsin ' + (status.version || '') +
		' · journal at event ' + fmtNum(status.journal &&
		status.journal.last_seq) + ' · engine at ' +
		fmtNum(status.engine && status.engine.cursor) + ' (' +
		fmtNum(status.engine && status.engine.lag) + ' behind) · ' +
		fmtNum(status.engine && status.engine.alerts) + ' alerts'),
	    h('div.grid.two', null,
		h('section.panel', { 'aria-labelledby': 'ag-h' },
		    h('h2', { id: 'ag-h' }, 'Agents (' + fmtNum(agents.filter(
			(a) => !a.replay).length) + ')'),
		    h('div.scroll', null, h('table', { id: 'agents-table' },
			h('thead', null, h('tr', null, ['Agent', 'State',
			    'Last seen', 'Events', 'Spooled', 'Group', 'Host',
			    'Version'].map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', null, agents.map((a) => h('tr', null,
			    h('td', null, a.name),
			    h('td', null, agentState(a)),
			    h('td', null, timeEl(a.last_seen)),
			    h('td.num', null, fmtNum(a.events)),
			    h('td.num', null, fmtNum(a.spooled)),
			    h('td', null, a.group || ''),
			    h('td', null, a.host || ''),
			    h('td', null, a.version || ''))))))),
		h('section.panel', { 'aria-labelledby': 'ct-h' },
		    h('h2', { id: 'ct-h' }, 'Counters'),
		    h('div.filters', null,
			h('label', { for: 'c-filter' }, 'Filter', filter),
			h('label.check', { for: 'c-nonzero' }, onlyNonZero,
			    'only non-zero')),
		    h('div.scroll', null, h('table', null,
			h('thead', null, h('tr', null,
			    h('th', { scope: 'col' }, 'Counter'),
			    h('th.num', { scope: 'col' }, 'Value'))),
			cbody)))));
	if (document.activeElement === document.body && counterView.text)
		filter.focus();
}

// ---- drills ------------------------------------------------------------------------

function scorecardPanel(sc) {
	const ex = sc.expectations || [];
	const timed = ex.filter((e) => e.type !== 'must_not_fire');
	const label = (e) => (e.type === 'incident' ? 'incident' +
	    (e.min_severity !== undefined ? ' ≥' + e.min_severity : '') :
	    'alert') + (e.rule ? ' ' + e.rule : '') + (e.mitre ? ' ' +
	    e.mitre : '') + (e.min_count > 1 ? ' ×' + e.min_count : '');
	return h('section.panel', { id: 'scorecard',
	    'aria-labelledby': 'sc-h' },
	    h('h2', { id: 'sc-h' }, 'Scorecard of ' + sc.drill + ' ',
		h('span.' + (sc.passed ? 'met' : 'missed'), { id: 'sc-result' },
		    sc.passed ? 'PASSED' : 'FAILED')),
	    h('p.muted', null, 'scenario ' + sc.scenario + ' · started ',
		timeEl(sc.started), ' · ' + fmtNum(sc.events && sc.events.sent) +
		' events sent · ' + fmtNum(sc.alerts) + ' alerts · ' +
		fmtNum(sc.incidents) + ' incidents · ' + fmtNum(sc.met) + ' of ' +
		fmtNum(ex.length) + ' expectations met'),
	    sc.description ? h('p', null, sc.description) : null,
	    timed.length ? [h('h3', null, 'Time to detect (dashed: the limit)'),
		limitBars(timed.map((e) => ({ label: label(e),
		    value: e.time_to_detect_ms, limit: e.max_time_to_detect_ms,
		    ok: e.met })), 'Time to detect of each expectation')] :
		null,
	    h('table', { id: 'sc-table' },
		h('thead', null, h('tr', null, ['Expectation', 'Result', 'Count',
		    'Detected in', 'Limit', 'Note'].map((t) =>
		    h('th', { scope: 'col' }, t)))),
		h('tbody', null, ex.map((e) => h('tr', null,
		    h('td', null, e.type === 'must_not_fire' ? 'no alert' +
			(e.rule ? ' ' + e.rule : '') + (e.mitre ? ' ' + e.mitre :
			'') : label(e)),
		    h('td', null, h('span.' + (e.met ? 'met' : 'missed'), null,
			e.met ? 'met' : 'MISSED')),
		    h('td.num', null, e.min_count ? fmtNum(e.count) + '/' +
			fmtNum(e.min_count) : fmtNum(e.count)),
		    h('td.num', null, fmtMs(e.time_to_detect_ms) +
			(e.time_to_detect_estimated ? ' *' : '')),
		    h('td.num', null, fmtMs(e.max_time_to_detect_ms)),
		    h('td', null, e.why || ''))))));
}

export async function drillsView(main, _args, ctx) {
	const state = { running: new Map(), off: null, timer: null,
	    speed: 'scenario' };
	const may = api.can('analyst');
	// the scorecard of one past drill (GET drills/NAME gives it)
	const showCard = async (drill, where) => {
		try {
			const d = await api.get('/drills/' +
			    encodeURIComponent(drill));
			if (d.scorecard)
				fill(where, scorecardPanel(d.scorecard));
		} catch (e) {
			fill(where, h('p.error', null, 'The scorecard of ' + drill +
			    ': ' + e.message));
		}
	};
	const render = async (show) => {
		const res = await api.get('/drills');
		const scenarios = (res.drills || []).filter((d) => !d.error)
		    .sort((a, b) => a.name < b.name ? -1 : 1);
		const runs = (res.runs || []).slice().reverse();  /* newest first */
		const latest = new Map();
		for (const r of runs)
			if (!latest.has(r.scenario))
				latest.set(r.scenario, r);
		const pick = show || routeQuery().get('drill');
		const chosen = pick ? (runs.find((r) => r.drill === pick) ||
		    latest.get(pick)) : null;
		const runBtn = (sc) => {
			const busy = sc.running || state.running.has(sc.name);
			const b = h('button', { type: 'button', 'data-run': sc.name,
			    disabled: !may || busy,
			    'aria-label': 'Run the drill ' + sc.name });
			b.textContent = busy ? 'Running…' : 'Run';
			b.addEventListener('click', () => run(sc.name, b));
			return b;
		};
		const speed = h('select', { id: 'drill-speed' },
		    [['scenario', 'at the scenario\'s speed'], ['10', '10 times ' +
		    'faster'], ['max', 'as fast as possible']].map(([v, t]) =>
		    h('option', { value: v, selected: v === state.speed }, t)));
		speed.addEventListener('change', () => {
			state.speed = speed.value;
		});
		const cardBox = h('div', { id: 'scorecard-box' });
		fill(main, h('h1', null, 'Drills'),
		    h('p.muted', null, 'A drill replays a recorded attack ' +
			'through the real pipeline and scores what the SOC saw. ' +
			'Drill alerts are marked and kept apart from real ones.'),
		    h('div.grid.two', null,
			h('section.panel', { 'aria-labelledby': 'scn-h' },
			    h('div.filters', null,
				h('h2', { id: 'scn-h' }, 'Scenarios'),
				may ? h('label', { for: 'drill-speed' },
				    'Replay', speed) : null),
			    h('table', { id: 'scenarios' },
				h('thead', null, h('tr', null, ['Scenario',
				    'What it plays', 'Last run', ''].map((t) =>
				    h('th', { scope: 'col' }, t)))),
				h('tbody', null, scenarios.map((sc) => {
					const l = latest.get(sc.name);
					return h('tr', { 'data-scenario': sc.name },
					    h('td.nowrap', null, sc.name),
					    h('td.desc', { title: sc.description ||
						'' }, sc.description || ''),
					    h('td', null, l ? h('a', {
						href: '#/drills?drill=' + l.drill },
						h('span.' + (l.passed ? 'met' :
						'missed'), null, l.passed ?
						'passed' : 'failed'), ' ',
						timeEl(l.started)) : '–'),
					    h('td', null, runBtn(sc)));
				}))),
			    may ? null : h('p.muted', null, 'Running a drill ' +
				'needs the analyst role.'),
			    h('p', { id: 'drill-progress', role: 'status' })),
			h('section.panel', { 'aria-labelledby': 'runs-h' },
			    h('h2', { id: 'runs-h' }, 'Past drills'),
			    runs.length ? h('div.scroll', null, h('table',
				{ id: 'runs' },
				h('thead', null, h('tr', null, ['Drill',
				    'Started', 'Result', 'Met', 'Alerts'].map(
				    (t) => h('th', { scope: 'col' }, t)))),
				h('tbody', null, runs.map((r) => h('tr', null,
				    h('td', null, h('a', { href: '#/drills?drill=' +
					r.drill }, r.drill)),
				    h('td', null, timeEl(r.started)),
				    h('td', null, h('span.' + (r.passed ? 'met' :
					'missed'), null, r.passed ? 'passed' :
					'FAILED')),
				    h('td.num', null, fmtNum(r.met) + '/' +
					fmtNum((r.met || 0) + (r.missed || 0))),
				    h('td.num', null, fmtNum(r.alerts))))))) :
				h('p.muted', null, 'No drill has run yet.'))),
		    cardBox);
		if (chosen)
			await showCard(chosen.drill, cardBox);
		return { latest };
	};
	const progress = () => document.getElementById('drill-progress');
	const run = async (name, btn) => {
		btn.disabled = true;
		const body = state.speed === 'max' ? { as_fast_as_possible: true } :
		    state.speed === 'scenario' ? {} : { speed: Number(state.speed) };
		let before;
		try {
			before = (await render()).latest.get(name);
			await api.post('/drills/' + encodeURIComponent(name) +
			    '/run', body);
		} catch (e) {
			btn.disabled = false;
			ctx.toast('Cannot run ' + name + ': ' + e.message, true);
			return;
		}
		state.running.set(name, { started: Date.now(), alerts: 0,
		    before: before ? before.drill : null });
		await render();
		poll();
	};
	const poll = () => {
		clearTimeout(state.timer);
		if (state.running.size === 0)
			return;
		state.timer = setTimeout(async () => {
			for (const [name, r] of [...state.running]) {
				let d;
				try {
					d = await api.get('/drills/' +
					    encodeURIComponent(name));
				} catch (e) {
					continue;
				}
				const p = progress();
				if (p)
					p.textContent = 'Drill ' + name +
					    ' running: ' + Math.round((Date.now() -
					    r.started) / 1000) + ' s, ' +
					    fmtNum(r.alerts) + ' alerts so far…';
				if (d.running)
					continue;
				state.running.delete(name);
				if (d.drill && d.drill !== r.before) {
					await render(d.drill);
					const sc = d.scorecard || {};
					ctx.toast('Drill ' + d.drill + (sc.passed ?
					    ' passed.' : ' failed: see its scorecard.'),
					    !sc.passed);
				} else {
					await render();
					ctx.toast('Drill ' + name + ' ended without a ' +
					    'scorecard (see DATADIR/run/drill-' + name +
					    '.log).', true);
				}
			}
			poll();
		}, 1500);
	};
	await render();
	state.off = ctx.onFeed((ev) => {
		if (ev.type !== 'alert' || !ev.data.drill)
			return;
		for (const [name, r] of state.running)
			if (ev.data.drill.startsWith(name + '-'))
				r.alerts++;
	});
	return () => {
		clearTimeout(state.timer);
		state.off();
	};
}
