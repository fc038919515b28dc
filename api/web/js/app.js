// The console's shell: log-in, the header, the routes (#/overview,
// #/alerts, #/incidents, #/incidents/N, #/agents, #/drills) and one live
// feed shared by the views.
import { h, fill } from './util.js';
import * as api from './api.js';
import { overviewView, alertsView } from './alerts.js';
import { boardView, incidentView } from './incidents.js';
import { agentsView, drillsView } from './ops.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let leave = null;		// the current view's clean-up
let feedClose = null;
const feedListeners = new Set();

// Views subscribe to the live feed: fn({type: 'alert'|'incident', data}).
export function onFeed(fn) {
	feedListeners.add(fn);
	return () => feedListeners.delete(fn);
}

function startFeed() {
	if (feedClose)
		return;
	const live = document.getElementById('live');
	feedClose = api.stream({}, {
		alert: (a) => feedListeners.forEach((f) => f({ type: 'alert',
		    data: a })),
		incident: (c) => feedListeners.forEach((f) =>
		    f({ type: 'incident', data: c })),
		state: (open) => {
			live.textContent = open ? 'live' : 'reconnecting…';
			live.classList.toggle('on', open);
		},
	});
}

function stopFeed() {
	if (feedClose)
		feedClose();
	feedClose = null;
}

export function toast(text, bad) {
	const t = document.getElementById('toast');
	t.textContent = text;
	t.classList.toggle('bad', !!bad);
	t.hidden = false;
	clearTimeout(toast.timer);
	toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
}

// ---- log-in -----------------------------------------------------------------

function loginView(message) {
	top.hidden = true;
	stopFeed();
	const err = h('p.error', { role: 'alert' }, message || '');
	const token = h('input', { id: 'login-token', type: 'password',
	    autocomplete: 'off', spellcheck: 'false' });
	const user = h('input', { id: 'login-user', autocomplete: 'username' });
	const pass = h('input', { id: 'login-password', type: 'password',
	    autocomplete: 'current-password' });
	const submit = async (ev) => {
		ev.preventDefault();
		err.textContent = '';
		const cred = token.value.trim() ? { token: token.value.trim() } :
		    { user: user.value.trim(), password: pass.value };
		if (!cred.token && !(cred.user && cred.password)) {
			err.textContent = 'Give an API token, or a user and ' +
			    'a password.';
			return;
		}
		try {
			await api.login(cred);
			token.value = pass.value = '';
			enter();
		} catch (e) {
			err.textContent = e.code === 'rate_limited' ?
			    'Too many attempts: wait a moment.' :
			    'Not logged in: ' + e.message;
		}
	};
	fill(main, h('section.login.panel', null,
	    h('h1', null, 'tocsin console'),
	    h('p.muted', null, 'Log in with an API token (tocsin api token ' +
	    'create) or with a user and password (tocsin api user add).'),
	    h('form', { onsubmit: submit, id: 'login-form' },
		h('label', { for: 'login-token' }, 'API token', token),
		h('fieldset', null, h('legend', null, 'or a user'),
		    h('label', { for: 'login-user' }, 'User', user),
		    h('label', { for: 'login-password' }, 'Password', pass)),
		h('button', { type: 'submit', id: 'login-submit' }, 'Log in'),
		err)));
	token.focus();
}

// ---- routes -------------------------------------------------------------------

const routes = [
	[/^#\/overview$/, 'overview', overviewView],
	[/^#\/alerts$/, 'alerts', alertsView],
	[/^#\/incidents$/, 'incidents', boardView],
	[/^#\/incidents\/(\d+)$/, 'incidents', incidentView],
	[/^#\/agents$/, 'agents', agentsView],
	[/^#\/drills$/, 'drills', drillsView],
];

async function route() {
	if (!api.currentSession())
		return;
	const path = location.hash.split('?')[0] || '#/overview';
	const r = routes.find(([re]) => re.test(path));
	if (!r) {
		location.hash = '#/overview';
		return;
	}
	const m = r[0].exec(path);
	for (const a of top.querySelectorAll('nav a'))
		if (a.dataset.nav === r[1])
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	if (leave)
		leave();
	leave = null;
	fill(main, h('p.muted', { role: 'status' }, 'Loading…'));
	try {
		leave = await r[2](main, m.slice(1), { onFeed, toast }) || null;
	} catch (e) {
		if (e.status === 401)
			return;
		fill(main, h('h1', null, 'Cannot show this page'),
		    h('p.error', { role: 'alert' }, e.message + ' (' + e.code +
		    ')'));
	}
	main.focus({ preventScroll: true });
}

function enter() {
	const s = api.currentSession();
	top.hidden = false;
	fill(document.getElementById('who'), s.name + ' · ' + s.role);
	startFeed();
	if (!location.hash || location.hash === '#' ||
	    location.hash === '#/login')
		location.hash = '#/overview';
	else
		route();
}

api.setUnauthenticatedHandler((e) => {
	if (leave)
		leave();
	leave = null;
	loginView(e.code === 'token_expired' ? 'Your token has expired.' :
	    'Your session has ended: log in again.');
});

document.getElementById('logout').addEventListener('click', async () => {
	try {
		await api.logout();
	} catch (e) {
		/* logged out here anyway */
	}
	if (leave)
		leave();
	leave = null;
	loginView('Logged out.');
});

window.addEventListener('hashchange', route);

(async () => {
	if (await api.resume())
		enter();
	else
		loginView();
})();
