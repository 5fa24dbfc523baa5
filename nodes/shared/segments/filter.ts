import { type Arm, armsOf, recordArms } from '../store/attribution';
import type { SqlDriver } from '../store/driver';
import { type IdentityKind, resolveProfileIds } from '../store/identity';
import type { ProfileFields } from '../store/rows';
import { compileSegments, matchSegments, type UsedFacts } from './evaluate';
import { loadFacts } from './facts';
import { inHoldout } from './holdout';
import { factNeeds } from './needs';
import type { Segment } from './rules';

export interface FilterOptions {
	segments: Segment[];
	/** Only the first matching segment, or every one. */
	firstOnly: boolean;
	/** Share of matching people held out of the campaign, 0 to 100. */
	holdoutPercent: number;
	campaign: string;
	now?: number;
}

export interface PersonInput {
	/** How the item names its person; undefined when it names none. */
	person?: { kind: IdentityKind | 'profileId'; value: string };
	cartId?: string;
}

/** Where one item goes and what it carries. */
export interface Routed {
	/** Output indexes: segments in order, then "no match", then "holdout". */
	outputs: number[];
	/** The segment each output is for (none for "no match"). */
	segments: string[];
	/** What each matching segment's conditions read. */
	factsBySegment?: Record<string, UsedFacts>;
	profile?: ProfileFields;
	segment: {
		name: string | null;
		matched: string[];
		holdout: boolean;
		campaign: string;
		/** What the conditions read: of the first matching segment, or of every one tried when none matched. */
		facts: UsedFacts;
		reason?: string;
	};
}

/**
 * Routes a batch of items by segment: the people and the data their conditions need are read
 * with one query per kind of data for the whole batch, then every item is evaluated in memory.
 */
export class SegmentRouter {
	readonly noMatch: number;
	readonly holdout: number;
	private readonly segments: Segment[];
	private readonly outputOf: Map<string, number>;

	private readonly db: SqlDriver;
	private readonly options: FilterOptions;

	constructor(db: SqlDriver, options: FilterOptions) {
		this.db = db;
		this.options = options;
		this.segments = compileSegments(options.segments);
		this.noMatch = this.segments.length;
		this.holdout = this.segments.length + 1;
		this.outputOf = new Map(this.segments.map((s, i) => [s.name, i]));
	}

	async route(inputs: PersonInput[]): Promise<Routed[]> {
		const now = this.options.now ?? Date.now();
		const needs = factNeeds(this.segments, now);
		const profileIds = await resolveProfileIds(this.db, inputs.map((i) => i.person));
		const cartIds = inputs.map((i) => i.cartId).filter((id): id is string => !!id);
		const facts = await loadFacts(this.db, needs, [...new Set(profileIds.filter((id): id is string => !!id))], cartIds);
		const { campaign } = this.options;
		const drawing = this.options.holdoutPercent > 0 && !!campaign;
		// A person drawn before keeps their arm, even if the share or their profile ID changed since.
		const drawnBefore = drawing ? await armsOf(this.db, campaign, [...facts.people.keys()]) : new Map<string, Arm>();
		const routed = inputs.map((input, i): Routed => {
			const person = profileIds[i] ? facts.people.get(profileIds[i]) : undefined;
			if (!person) {
				const reason = input.person ? 'this person is not in the store' : 'the item names no person';
				return { outputs: [this.noMatch], segments: [], segment: { name: null, matched: [], holdout: false, campaign, facts: {}, reason } };
			}
			const cart = input.cartId ? facts.carts.get(input.cartId) : undefined;
			const { matched, facts: used, factsBySegment } = matchSegments(this.segments, person, cart, now, this.options.firstOnly);
			const before = drawnBefore.get(person.profile.id);
			const held = matched.length > 0 && (before ? before === 'holdout' : inHoldout(person.profile.id, campaign, this.options.holdoutPercent));
			const outputs = matched.length === 0 ? [this.noMatch] : held ? [this.holdout] : matched.map((name) => this.outputOf.get(name)!);
			return {
				outputs,
				segments: held ? [matched[0]] : matched,
				profile: person.profile,
				segment: { name: matched[0] ?? null, matched, holdout: held, campaign, facts: matched.length ? factsBySegment[matched[0]] : used },
				factsBySegment,
			};
		});
		// With a holdout, who was drawn into which arm is kept: the attribution report's lift reads it.
		if (drawing) {
			const drawn = routed.filter((r) => r.profile && r.segment.matched.length > 0 && !drawnBefore.has(r.profile.id)).map((r) => ({ profileId: r.profile!.id, arm: (r.segment.holdout ? 'holdout' : 'treated') as Arm }));
			await recordArms(this.db, campaign, drawn, new Date(now));
		}
		return routed;
	}

}

export interface SegmentMember {
	profile: ProfileFields;
	facts: UsedFacts;
}

/**
 * The people of the store in one segment, with what the match read, a page at a time: the
 * profiles are read in pages of `pageSize` in id order and each page is routed as one batch, so
 * memory stays bounded however many people are stored. A page is yielded when it has members;
 * stops at `max` members.
 */
export async function* segmentMemberPages(
	db: SqlDriver,
	segment: Segment,
	options: { max?: number; now?: number; pageSize?: number } = {},
): AsyncGenerator<SegmentMember[]> {
	const router = new SegmentRouter(db, { segments: [segment], firstOnly: true, holdoutPercent: 0, campaign: '', now: options.now ?? Date.now() });
	const max = options.max ?? Infinity;
	const pageSize = options.pageSize ?? 1000;
	let found = 0;
	let after = '';
	while (found < max) {
		const page = await db.all<{ id: string }>('SELECT id FROM rt_profiles WHERE id > ? ORDER BY id LIMIT ?', [after, pageSize]);
		if (page.length === 0) return;
		after = page[page.length - 1].id;
		const members: SegmentMember[] = [];
		for (const routed of await router.route(page.map(({ id }) => ({ person: { kind: 'profileId', value: id } })))) {
			if (routed.outputs[0] === 0 && routed.profile && found < max) {
				members.push({ profile: routed.profile, facts: routed.segment.facts });
				found++;
			}
		}
		if (members.length) yield members;
	}
}
