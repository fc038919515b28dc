// The API client: the session cookie (HttpOnly, so never seen here), the
// CSRF token for every change, JSON errors with their stable code, and the
// live feed (Server-Sent Events).

const BASE = '/api/v1';
let session = null;		// {name, role, csrf_token, expires}
let onUnauthenticated = () => {};

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code || ('HTTP ' + status));
		this.status = status;
		this.code = code || 'http_' + status;
	}
}

export function setUnauthenticatedHandler(fn) {
	onUnauthenticated = fn;
}

export function currentSession() {
	return session;
}

// May the session's role do what needs `role`?
export function can(role) {
	const rank = { viewer: 1, analyst: 2, admin: 3 };
	return !!session && (rank[session.role] || 0) >= (rank[role] || 9);
}

export async function request(method, path, body) {
	const headers = { 'Accept': 'application/json' };
	const init = { method, headers, credentials: 'same-origin',
	    cache: 'no-store' };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json; charset=utf-8';
		init.body = JSON.stringify(body);
	}
	if (method !== 'GET' && session && session.csrf_token)
		headers['X-CSRF-Token'] = session.csrf_token;
	let res;
	try {
		res = await fetch(BASE + path, init);
	} catch (e) {
		throw new ApiError(0, 'network', 'the server does not answer');
	}
	let data = null;
	const text = await res.text();
	if (text) {
		try {
			data = JSON.parse(text);
		} catch (e) {
			data = null;
		}
	}
	if (!res.ok) {
		const err = data && data.error ? data.error : {};
		const e = new ApiError(res.status, err.code, err.message);
		if (res.status === 401 && path !== '/session') {
			session = null;
			onUnauthenticated(e);
		}
		throw e;
	}
	return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body || {});

// Query string from an object, leaving out empty values.
export function qs(params) {
	const u = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== '' && v !== false)
			u.set(k, v === true ? 'true' : String(v));
	const s = u.toString();
	return s ? '?' + s : '';
}

// The session of the cookie, if any (a reloaded page).
export async function resume() {
	try {
		session = await request('GET', '/session');
	} catch (e) {
		session = null;
	}
	return session;
}

// Log in with {token} or {user, password}.
export async function login(cred) {
	session = await request('POST', '/session', cred);
	return session;
}

export async function logout() {
	try {
		await request('DELETE', '/session');
	} finally {
		session = null;
	}
}

// Every page of a list, up to max items: [items, complete].
export async function getAll(path, key, params, max) {
	const out = [];
	let cursor = null;
	for (;;) {
		const p = Object.assign({}, params, { limit: 1000 });
		if (cursor)
			p.cursor = cursor;
		const page = await get(path + qs(p));
		out.push(...(page[key] || []));
		cursor = page.next_cursor;
		if (!cursor)
			return [out, true];
		if (out.length >= max)
			return [out, false];
	}
}

// The live feed.  handlers: {alert(a), incident(change), state(open)}.
// Returns a function that closes it.  The browser reconnects by itself
// and sends Last-Event-ID, so nothing is lost across a reconnection.
export function stream(params, handlers) {
	const es = new EventSource(BASE + '/stream' + qs(params || {}));
	const parse = (fn) => (ev) => {
		let d;
		try {
			d = JSON.parse(ev.data);
		} catch (e) {
			return;
		}
		fn(d);
	};
	if (handlers.alert)
		es.addEventListener('alert', parse(handlers.alert));
	if (handlers.incident)
		es.addEventListener('incident', parse(handlers.incident));
	es.onopen = () => handlers.state && handlers.state(true);
	es.onerror = () => handlers.state && handlers.state(false);
	return () => es.close();
}
