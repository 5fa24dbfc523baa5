/*! n8n-nodes-retargeting tracker: rt('track'|'page'|'identify'|'consent'|'reset'|'flush', ...) */
(function (w, d, n) {
	'use strict';
	// The Tracking Trigger serves this file with its settings in place of the empty object.
	var cfg = /*RT_CONFIG*/ {};
	var src = d.currentScript && d.currentScript.src ? new URL(d.currentScript.src) : null;
	var endpoint = cfg.endpoint || (src ? src.origin + src.pathname.replace(/\/tracker\.js$/, '') : '');
	var writeKey = cfg.writeKey || (src ? src.searchParams.get('writeKey') || '' : '');
	var CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'fbclid', 'msclkid', 'ttclid', 'li_fat_id', 'rt_cid'];
	var queue = [];
	var timer = 0;

	function local(key, value) {
		try {
			if (value === undefined) return localStorage.getItem(key);
			if (value === null) localStorage.removeItem(key);
			else localStorage.setItem(key, value);
		} catch (e) {}
		return null;
	}
	function session(key, value) {
		try {
			if (value === undefined) return sessionStorage.getItem(key);
			sessionStorage.setItem(key, value);
		} catch (e) {}
		return null;
	}
	// A sandboxed frame refuses document.cookie, and a cookie may hold a malformed value.
	function cookie(key, value) {
		try {
			if (value === undefined) {
				var m = d.cookie.match(new RegExp('(?:^|; )' + key + '=([^;]*)'));
				return m ? decodeURIComponent(m[1]) : null;
			}
			d.cookie = key + '=' + encodeURIComponent(value) + '; Max-Age=31536000; Path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
		} catch (e) {}
		return null;
	}
	// Stored state is only trusted when it is an object of the expected kind.
	function json(text, fallback) {
		try {
			var v = JSON.parse(text);
			return v && typeof v === 'object' && !Array.isArray(v) ? v : fallback;
		} catch (e) {
			return fallback;
		}
	}
	function uuid() {
		if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
		return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
			var r = (Math.random() * 16) | 0;
			return (c === 'x' ? r : (r & 3) | 8).toString(16);
		});
	}
	function remember(id) {
		cookie('rt_aid', id);
		local('rt_aid', id);
		return id;
	}

	// The anonymous id lives in a first-party cookie, with localStorage as a second copy.
	var anonymousId = remember(cookie('rt_aid') || local('rt_aid') || uuid());
	var userId = local('rt_uid');
	var consent = json(local('rt_consent'), {});
	var gpc = !!n.globalPrivacyControl;
	if (cfg.gpc && gpc) consent.ads = false;

	// UTM fields and click ids of the landing page stay with every event of the visit.
	var params = new URLSearchParams(location.search);
	var found = { campaign: {}, clickIds: {} };
	var any = false;
	['source', 'medium', 'campaign', 'term', 'content'].forEach(function (f) {
		var v = params.get('utm_' + f);
		if (v) (found.campaign[f === 'campaign' ? 'name' : f] = v), (any = true);
	});
	CLICK_IDS.forEach(function (p) {
		var v = params.get(p);
		if (v) (found.clickIds[p] = v), (any = true);
	});
	if (any) session('rt_touch', JSON.stringify(found));
	var touch = json(session('rt_touch'), found);
	if (!touch.campaign || !touch.clickIds) touch = found;

	function context() {
		var c = {
			page: { url: location.href, path: location.pathname, referrer: d.referrer, title: d.title },
			userAgent: n.userAgent,
			locale: n.language,
			library: { name: 'n8n-nodes-retargeting', version: '1' },
		};
		try {
			c.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
		} catch (e) {}
		if (Object.keys(touch.campaign).length) c.campaign = touch.campaign;
		if (Object.keys(touch.clickIds).length) c.clickIds = touch.clickIds;
		if (Object.keys(consent).length) c.consent = consent;
		if (gpc) c.gpc = true;
		return c;
	}

	function send(type, fields) {
		var e = { type: type, messageId: uuid(), anonymousId: anonymousId, timestamp: new Date().toISOString(), context: context() };
		if (userId) e.userId = userId;
		for (var k in fields) if (fields[k] != null) e[k] = fields[k];
		queue.push(e);
		if (queue.length >= 20) flush();
		else if (!timer) timer = setTimeout(flush, cfg.flushMs || 1000);
	}

	// text/plain keeps the request "simple": no CORS preflight, and sendBeacon can carry it.
	function flush(leaving) {
		clearTimeout(timer);
		timer = 0;
		while (queue.length) {
			var body = JSON.stringify({ batch: queue.splice(0, 20), sentAt: new Date().toISOString() });
			var url = endpoint + '?writeKey=' + encodeURIComponent(writeKey);
			if (leaving && n.sendBeacon && n.sendBeacon(url, body)) continue;
			if (w.fetch) fetch(url, { method: 'POST', body: body, keepalive: true, credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })['catch'](function () {});
		}
	}

	var api = {
		track: function (event, properties) {
			send('track', { event: event, properties: properties || {} });
		},
		page: function (name, properties) {
			if (typeof name === 'object') (properties = name), (name = null);
			send('page', { name: name, properties: properties || {} });
		},
		identify: function (id, traits) {
			if (typeof id === 'object' && id) (traits = id), (id = null);
			if (id != null) local('rt_uid', (userId = String(id)));
			send('identify', { traits: traits || {} });
		},
		consent: function (choices) {
			for (var k in choices) consent[k] = !!choices[k];
			if (cfg.gpc && gpc) consent.ads = false;
			local('rt_consent', JSON.stringify(consent));
			send('track', { event: 'Consent Updated', properties: {} });
		},
		reset: function () {
			userId = null;
			local('rt_uid', null);
			anonymousId = remember(uuid());
		},
		flush: flush,
	};

	function rt(method) {
		if (api[method]) api[method].apply(null, [].slice.call(arguments, 1));
	}
	var waiting = (w.rt && w.rt.q) || [];
	w.rt = rt;
	for (var i = 0; i < waiting.length; i++) rt.apply(null, waiting[i]);
	d.addEventListener('visibilitychange', function () {
		if (d.visibilityState === 'hidden') flush(true);
	});
	w.addEventListener('pagehide', function () {
		flush(true);
	});
})(window, document, navigator);
