import { normalizeCountry, normalizeEmail, normalizeName, normalizePhone, normalizeZip, sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { bodyTemplateProblem, criteo, genericPartner, google, linkedin, meta, PARTNERS, partnerCalls, tiktok } from '../../nodes/shared/audiences/partners.ts';

// Each hash below was computed apart from this code, with Python's hashlib.sha256(value.encode('utf-8')).hexdigest().
const VECTORS: Record<string, string> = {
	'test@example.com': '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b',
	'johndoe@gmail.com': '06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3',
	'john.doe+promo@gmail.com': '80f9126efd0446cb338c54ea6fe3d4af8fa3fe93db0024b14150441550e632a2',
	'johndoe+promo@gmail.com': '4dfee298ccfab85c3c2369440292b9a1e57795b008fe3d680add19dcd4414b64',
	'johndoe@googlemail.com': 'f07280f43150f779598094600662ad3c94d7c0a78c78b15c4056e4a38df260b9',
	'first.last@example.com': 'ed54043dc26abe52005ca8de7f530026bb4773f53e7a6effc7a520944bab01ad',
	'33612345678': '8a3e7886c9335e82e02299fa3e87b46e2de3b0c63d56003e30a5029394a47661',
	'+33612345678': '42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8',
	'14155552671': '758fbf68945f21c416814c539ab578876c8d98fb69e6da692def92cd52417fe0',
	ada: 'fdee430d40bd57deeac186cd9790033d0f06f909a8806e7ce6e717ab7c7d5029',
	'josé': 'd994e1d001886fe5b45b1267bd1fa2b752ac50742579bd3dad7b2a2aa0ed6866',
	oconnor: '7a0fbfdf40cbeb97429bdb88f512cecd27f0d44b7e57986ab578423bb61936ac',
	london: '6089854c94ca5454b76be6752c562901a985f64c9a946f62976aeab593b83161',
	sw1a1aa: '830e1d4b9838bab1f5c2acdb23e0b502ff13a9832c4632e8d67a1d43d3b7f614',
	'94103': '91dc2519ea98c5002cf2091e6a12b772eafdce9dca618e626d7d3b8275361789',
	gb: '0b407281768f0e833afef47ed464b6571d01ca4d53c12ce5c51d1462f4ad6677',
};
const hashOf = (normalised: string | undefined) => (normalised === undefined ? undefined : sha256Hex(normalised));

describe('audience identifiers: normalised, then hashed (known vectors)', () => {
	it('hashes UTF-8 as SHA-256 lower-case hex', () => {
		for (const [value, hash] of Object.entries(VECTORS)) expect(sha256Hex(value)).toBe(hash);
	});

	it('emails: trimmed and lower-cased; every Gmail dot removed only where asked (Google); plus-tags kept unless asked', () => {
		expect(hashOf(normalizeEmail('  Test@Example.COM '))).toBe(VECTORS['test@example.com']);
		expect(hashOf(normalizeEmail('John.Doe+Promo@gmail.com'))).toBe(VECTORS['john.doe+promo@gmail.com']);
		expect(hashOf(normalizeEmail('John.Doe+Promo@gmail.com', { gmailDots: true }))).toBe(VECTORS['johndoe+promo@gmail.com']);
		expect(hashOf(normalizeEmail('j.o.h.n.d.o.e+promo@gmail.com', { gmailDots: true, plusTags: true }))).toBe(VECTORS['johndoe@gmail.com']);
		expect(hashOf(normalizeEmail('john.doe@GoogleMail.com', { gmailDots: true }))).toBe(VECTORS['johndoe@googlemail.com']);
		// Only Gmail addresses lose their dots.
		expect(hashOf(normalizeEmail('First.Last@example.com', { gmailDots: true }))).toBe(VECTORS['first.last@example.com']);
		expect(normalizeEmail('not an email')).toBeUndefined();
		expect(normalizeEmail('a@b')).toBeUndefined();
		expect(normalizeEmail(42)).toBeUndefined();
	});

	it('phones: E.164 digits with the country code; a national number takes the default country code; without one it is dropped', () => {
		expect(hashOf(normalizePhone('+33 6 12 34 56 78'))).toBe(VECTORS['33612345678']);
		expect(hashOf(normalizePhone('06 12 34 56 78', '33'))).toBe(VECTORS['33612345678']);
		expect(hashOf(normalizePhone('0033 6-12-34-56-78'))).toBe(VECTORS['33612345678']);
		expect(hashOf(normalizePhone('+1 (415) 555-2671'))).toBe(VECTORS['14155552671']);
		expect(hashOf(`+${normalizePhone('+33 6 12 34 56 78')}`)).toBe(VECTORS['+33612345678']);
		expect(normalizePhone('06 12 34 56 78')).toBeUndefined();
		expect(normalizePhone('+12')).toBeUndefined();
	});

	it('names, cities, postal codes and countries', () => {
		expect(hashOf(normalizeName(' Ada '))).toBe(VECTORS.ada);
		expect(hashOf(normalizeName('José'))).toBe(VECTORS['josé']);
		expect(hashOf(normalizeName("O'Connor"))).toBe(VECTORS.oconnor);
		expect(hashOf(normalizeName('London'))).toBe(VECTORS.london);
		expect(hashOf(normalizeZip('SW1A 1AA'))).toBe(VECTORS.sw1a1aa);
		expect(hashOf(normalizeZip('94103-1234', 'us'))).toBe(VECTORS['94103']);
		expect(hashOf(normalizeCountry(' GB '))).toBe(VECTORS.gb);
		expect(normalizeCountry('United Kingdom')).toBeUndefined();
		expect(normalizeName('  -- ')).toBeUndefined();
	});
});

describe('ad partner calls', () => {
	const people = Array.from({ length: 25_000 }, (_, i) => ({ key: `p-${i}`, person: { email: `Person.${i}@Gmail.com`, phone: i % 2 ? '06 12 34 56 78' : undefined } }));
	const target = { audienceId: 'aud-1', accountId: 'acc-9' };

	it('25,000 people make the exact number of calls each partner limit gives', () => {
		const counts = Object.fromEntries(
			Object.entries(PARTNERS).map(([name, partner]) => [name, partnerCalls(partner, 'add', target, people, '33').calls.map((c) => c.keys.length)]),
		);
		expect(counts).toEqual({
			criteo: [25_000],
			google: [10_000, 10_000, 5_000],
			linkedin: [5_000, 5_000, 5_000, 5_000, 5_000],
			meta: [10_000, 10_000, 5_000],
			tiktok: [10_000, 10_000, 5_000],
		});
	});

	it('people without a usable identifier are left out and named', () => {
		const { calls, unmatchable } = partnerCalls(meta, 'add', target, [
			{ key: 'a', person: { email: 'test@example.com' } },
			{ key: 'b', person: { firstName: 'Ada', city: 'London' } },
			{ key: 'c', person: { phone: '06 12 34 56 78' } },
		]);
		expect(unmatchable).toEqual(['b', 'c']);
		expect(calls.map((c) => c.keys)).toEqual([['a']]);
	});

	it('request shapes: Meta multi-key, Google ingest with dots removed and +E.164, Criteo, LinkedIn, TikTok', () => {
		const ada = { email: 'Test@Example.com', phone: '+33 6 12 34 56 78', firstName: 'Ada', city: 'London', zip: 'SW1A 1AA', country: 'GB', externalId: 'crm-1' };
		expect(meta.call('remove', target, [meta.identifiersOf(ada)])).toEqual({
			method: 'DELETE',
			path: '/aud-1/users',
			body: {
				payload: {
					schema: ['EMAIL', 'PHONE', 'FN', 'LN', 'CT', 'ZIP', 'COUNTRY', 'EXTERN_ID', 'MADID'],
					data: [[VECTORS['test@example.com'], VECTORS['33612345678'], VECTORS.ada, '', VECTORS.london, VECTORS.sw1a1aa, VECTORS.gb, 'crm-1', '']],
				},
			},
		});
		expect(google.call('add', { ...target, consentGranted: true }, [google.identifiersOf({ email: 'John.Doe+Promo@gmail.com', phone: '+33 6 12 34 56 78' })])).toEqual({
			method: 'POST',
			path: '/v1/audienceMembers:ingest',
			body: {
				destinations: [{ operatingAccount: { accountType: 'GOOGLE_ADS', accountId: 'acc-9' }, productDestinationId: 'aud-1' }],
				audienceMembers: [{ userData: { userIdentifiers: [{ emailAddress: VECTORS['johndoe+promo@gmail.com'] }, { phoneNumber: VECTORS['+33612345678'] }] } }],
				consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' },
				encoding: 'HEX',
			},
		});
		expect(google.call('remove', target, []).path).toBe('/v1/audienceMembers:remove');
		expect(criteo.call('remove', target, [criteo.identifiersOf(ada)])).toEqual({
			method: 'PATCH',
			path: '/audiences/aud-1/contactlist',
			body: { data: { type: 'ContactlistAmendment', attributes: { operation: 'remove', identifierType: 'email', identifiers: [VECTORS['test@example.com']] } } },
		});
		expect(linkedin.call('add', target, [linkedin.identifiersOf(ada)])).toMatchObject({
			method: 'POST',
			path: '/rest/dmpSegments/aud-1/users',
			headers: { 'X-RestLi-Method': 'BATCH_CREATE' },
			body: { elements: [{ action: 'ADD', userIds: [{ idType: 'SHA256_EMAIL', idValue: VECTORS['test@example.com'] }] }] },
		});
		expect(tiktok.call('remove', target, [tiktok.identifiersOf(ada)])).toEqual({
			method: 'POST',
			path: '/open_api/v1.3/segment/mapping/',
			body: { advertiser_ids: ['acc-9'], action: 'delete', id_schema: ['EMAIL_SHA256'], batch_data: [[{ id: VECTORS['test@example.com'], audience_ids: ['aud-1'] }]] },
		});
	});
});

describe('the HTTP partner', () => {
	const options = {
		addPath: '/members',
		removePath: '/members',
		method: 'POST' as const,
		bodyTemplate: '{"list": "{audience_id}", "op": "{operation}", "people": {identifiers}}',
		maxBatch: 2,
		identifier: 'emailAndPhone' as const,
		hash: true,
		email: { gmailDots: true, plusTags: true },
	};

	it('fills the template: identifiers as a JSON list, the audience ID escaped, the operation', () => {
		const partner = genericPartner(options);
		const id = partner.identifiersOf({ email: 'J.Doe+x@gmail.com', phone: '+33 6 12 34 56 78' });
		expect(id).toEqual({ email: sha256Hex('jdoe@gmail.com'), phone: VECTORS['33612345678'] });
		expect(partner.call('remove', { audienceId: 'say "hi"' }, [id])).toEqual({
			method: 'POST',
			path: '/members',
			body: { list: 'say "hi"', op: 'remove', people: [id] },
		});
		const plain = genericPartner({ ...options, identifier: 'email', hash: false, email: {} });
		expect(plain.identifiersOf({ email: ' Ada@Example.com ' })).toBe('ada@example.com');
		expect(plain.identifiersOf({ phone: '+33 6 12 34 56 78' })).toBeUndefined();
		expect(partnerCalls(genericPartner(options), 'add', { audienceId: 'a' }, [1, 2, 3].map((i) => ({ key: `k${i}`, person: { email: `p${i}@example.com` } }))).calls.map((c) => c.keys)).toEqual([['k1', 'k2'], ['k3']]);
	});

	it('an audience ID is put in as text, never read as a replacement pattern or filled in again', () => {
		const partner = genericPartner({ ...options, bodyTemplate: '{"list": "{audience_id}", "op": "{operation}", "people": {identifiers}}' });
		expect(partner.call('add', { audienceId: 'x$& {operation}' }, []).body).toEqual({ list: 'x$& {operation}', op: 'add', people: [] });
	});

	it('Google is told of consent only when every person gave it explicitly', () => {
		expect(google.call('add', { audienceId: 'a', accountId: '1', consentGranted: true }, []).body).toMatchObject({ consent: { adUserData: 'CONSENT_GRANTED' } });
		expect(google.call('add', { audienceId: 'a', accountId: '1' }, []).body).not.toHaveProperty('consent');
	});

	it('a template that is not JSON once filled in, or has no {identifiers}, is named before any call', () => {
		// Quoted, {identifiers} would only pass with an empty list.
		expect(bodyTemplateProblem('{"people": "{identifiers}"}')).toMatch(/^Body Template does not give JSON once filled in: /);
		expect(bodyTemplateProblem('{"people": {identifiers}}')).toBeUndefined();
		expect(bodyTemplateProblem('{"people": []}')).toBe('Body Template: put {identifiers} where the list of people goes');
		expect(bodyTemplateProblem('{"people": {identifiers}')).toMatch(/^Body Template does not give JSON once filled in: /);
	});
});
