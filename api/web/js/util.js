// Small DOM and formatting helpers.  Data is only ever put into the page
// as text (textContent, attribute values), never as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('tag.class#id', {attr: value, onclick: fn}, child, ...): an element.
// Children: strings (text), nodes, arrays, null/false (skipped).
export function h(spec, attrs, ...kids) {
	return build(document.createElement.bind(document), spec, attrs, kids);
}

// The same for SVG elements.
export function s(spec, attrs, ...kids) {
	return build((t) => document.createElementNS(SVG_NS, t), spec, attrs,
	    kids);
}

function build(make, spec, attrs, kids) {
	const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
	const el = make(m ? m[1] : spec);
	if (m && m[2])
		for (const part of m[2].match(/[.#][\w-]+/g)) {
			if (part[0] === '.')
				el.classList.add(part.slice(1));
			else
				el.id = part.slice(1);
		}
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'class')
			for (const c of String(v).split(/\s+/).filter(Boolean))
				el.classList.add(c);
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, kids);
	return el;
}

function append(el, kids) {
	for (const k of kids) {
		if (k === null || k === undefined || k === false)
			continue;
		if (Array.isArray(k))
			append(el, k);
		else if (k instanceof Node)
			el.appendChild(k);
		else
			el.appendChild(document.createTextNode(String(k)));
	}
}

// Replace el's children.
export function fill(el, ...kids) {
	el.replaceChildren();
	append(el, kids);
	return el;
}

// Dates and numbers in the browser's own locale (vi-VN gives
// "14:03:05 28/1/2026"), never a hard-coded format.
const dtFull = new Intl.DateTimeFormat(undefined, {
	dateStyle: 'short', timeStyle: 'medium' });
const dtShort = new Intl.DateTimeFormat(undefined, {
	month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const nf = new Intl.NumberFormat();

export function locale() {
	return dtFull.resolvedOptions().locale;
}

export function toDate(v) {
	if (v === null || v === undefined || v === '')
		return null;
	const d = typeof v === 'number' ? new Date(v) : new Date(v);
	return isNaN(d.getTime()) ? null : d;
}

export function fmtTime(v) {
	const d = toDate(v);
	return d ? dtFull.format(d) : '–';
}

export function fmtTimeShort(v) {
	const d = toDate(v);
	return d ? dtShort.format(d) : '–';
}

// A <time> element: the locale's text, the exact instant in datetime and
// in the tooltip.
export function timeEl(v) {
	const d = toDate(v);
	if (!d)
		return h('span.muted', null, '–');
	return h('time', { datetime: d.toISOString(), title: d.toISOString() },
	    dtFull.format(d));
}

export function fmtNum(n) {
	return typeof n === 'number' ? nf.format(n) : '–';
}

// Durations in milliseconds: "850 ms", "12.4 s", "3 min 5 s".
export function fmtMs(ms) {
	if (typeof ms !== 'number')
		return '–';
	if (ms < 1000)
		return nf.format(ms) + ' ms';
	if (ms < 60000)
		return new Intl.NumberFormat(undefined,
		    { maximumFractionDigits: 1 }).format(ms / 1000) + ' s';
	const m = Math.floor(ms / 60000), sec = Math.round((ms % 60000) / 1000);
	return nf.format(m) + ' min ' + sec + ' s';
}

// Level bands (Wazuh-like 0-15): 0-3 info, 4-7 low, 8-11 medium, 12-15 high.
export const BANDS = ['info 0–3', 'low 4–7', 'medium 8–11', 'high 12–15'];
export function band(level) {
	const l = Number(level) || 0;
	return l >= 12 ? 3 : l >= 8 ? 2 : l >= 4 ? 1 : 0;
}

export function levelBadge(level) {
	return h('span.lv.b' + band(level), { title: 'level ' + level },
	    String(level));
}

// Read and write the hash route's query: #/alerts?min_level=8
export function routeQuery() {
	const i = location.hash.indexOf('?');
	return new URLSearchParams(i >= 0 ? location.hash.slice(i + 1) : '');
}
