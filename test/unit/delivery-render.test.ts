import { productsBlock, renderTemplate, textOfHtml, trackedLink } from '../../nodes/shared/delivery/render';
import { escapeHtml } from '../../nodes/shared/html';

describe('email templates', () => {
	it('escapes every value in HTML, and nothing in text', () => {
		const values = { first_name: `<script>alert("x")</script> & 'co'`, profile: { traits: { city: 'Lyon' } } };
		expect(renderTemplate('<p>{first_name} in {profile.traits.city}</p>', values, 'html')).toEqual({
			output: '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39; in Lyon</p>',
			missing: [],
		});
		expect(renderTemplate('{first_name}', values, 'text').output).toBe(`<script>alert("x")</script> & 'co'`);
		expect(escapeHtml('"<&>\'')).toBe('&quot;&lt;&amp;&gt;&#39;');
	});

	it('reads own fields only: {constructor} is not a value', () => {
		expect(renderTemplate('{constructor}{toString}{a.constructor}', { a: {} }, 'text')).toEqual({ output: '', missing: ['constructor', 'toString', 'a.constructor'] });
	});

	it('reports the placeholders that had no value, which render as nothing', () => {
		expect(renderTemplate('Hi {first_name}{coupon}{coupon}', { first_name: '' }, 'text')).toEqual({ output: 'Hi ', missing: ['first_name', 'coupon'] });
	});

	it('builds a product table with escaped names and only http(s) links, and a text list', () => {
		const block = productsBlock(
			[
				{ name: 'Mug <b>', price: 12.5, quantity: 2, url: 'https://shop.example/mug?a=1&b=2' },
				{ product_id: 'sku-9', price: 'n/a', url: 'javascript:alert(1)' },
			],
			'EUR',
		);
		expect(block.html).toContain('<a href="https://shop.example/mug?a=1&amp;b=2">Mug &lt;b&gt;</a>');
		expect(block.html).toContain('<td>sku-9</td>');
		expect(block.html).not.toContain('javascript:');
		expect(block.text).toBe('- Mug <b> × 2  €12.50  https://shop.example/mug?a=1&b=2\n- sku-9');
		expect(productsBlock(undefined, 'EUR')).toEqual({ html: '', text: '' });
		expect(productsBlock([], 'EUR')).toEqual({ html: '', text: '' });
	});

	it('shows cart lines as before: no image, with their quantity', () => {
		const cart = [{ productId: 'mug', name: 'Mug', price: 12.5, quantity: 2, url: 'https://shop.example/mug', imageUrl: 'https://shop.example/mug.jpg' }];
		expect(productsBlock(cart, 'EUR').html).toBe(
			'<table role="presentation" cellpadding="6" style="border-collapse:collapse"><tr><td><a href="https://shop.example/mug">Mug</a></td><td>× 2</td><td style="text-align:right">€12.50</td></tr></table>',
		);
	});

	it('shows recommended products with their image, linked, sized and described; no quantity; only http(s) images', () => {
		// As Product Catalogue → Add to Items writes them.
		const recommended = [
			{ productId: 'tea', name: 'Tea "Earl" <Grey>', url: 'https://shop.example/tea', imageUrl: 'https://cdn.example/tea.jpg?w=200&h=200', price: 7.5, currency: 'GBP', strategy: 'itemToItem' },
			{ productId: 'pot', name: 'Pot', url: null, imageUrl: 'javascript:alert(1)', price: null, currency: null, strategy: 'popular' },
		];
		const block = productsBlock(recommended, 'EUR', { images: true });
		expect(block.html).toBe(
			'<table role="presentation" cellpadding="6" style="border-collapse:collapse">' +
				'<tr><td><a href="https://shop.example/tea"><img src="https://cdn.example/tea.jpg?w=200&amp;h=200" width="96" height="96" alt="Tea &quot;Earl&quot; &lt;Grey&gt;" style="display:block;border:0;object-fit:contain"></a></td>' +
				'<td><a href="https://shop.example/tea">Tea &quot;Earl&quot; &lt;Grey&gt;</a></td><td style="text-align:right">£7.50</td></tr>' +
				'<tr><td>Pot</td><td style="text-align:right"></td></tr>' +
				'</table>',
		);
		expect(block.html).not.toContain('×');
		expect(block.text).toBe('- Tea "Earl" <Grey>  £7.50  https://shop.example/tea\n- Pot');
	});

	it("passes each product's link through the given tagging, and drops one the tagging refuses", () => {
		const tag = (url: string) => trackedLink(url, { source: 'smtp', campaign: 'browse', content: 'recommendations', clickId: 'c1' });
		const block = productsBlock(
			[
				{ name: 'Tea', url: 'https://shop.example/tea?colour=green' },
				{ name: 'Pot', url: 'javascript:alert(1)' },
			],
			'EUR',
			{ link: tag },
		);
		const tagged = 'https://shop.example/tea?colour=green&utm_source=smtp&utm_medium=email&utm_campaign=browse&utm_content=recommendations&rt_cid=c1';
		expect(block.html).toContain(`<a href="${tagged.replace(/&/g, '&amp;')}">Tea</a>`);
		expect(block.html).toContain('<td>Pot</td>');
		expect(block.text).toBe(`- Tea  ${tagged}\n- Pot`);
	});

	it('tags links with utm fields and a click id, keeping what the link already has', () => {
		const link = new URL(trackedLink('https://shop.example/cart?id=7&utm_source=crm', { source: 'smtp', campaign: 'cart', content: 'step-2', clickId: 'abc' })!);
		expect(Object.fromEntries(link.searchParams)).toEqual({
			id: '7',
			utm_source: 'crm',
			utm_medium: 'email',
			utm_campaign: 'cart',
			utm_content: 'step-2',
			rt_cid: 'abc',
		});
		// Anything but a web link is dropped, so item data can never put javascript: into an href.
		expect(trackedLink('not a url', { source: 's', campaign: 'c', clickId: 'x' })).toBeUndefined();
		expect(trackedLink('javascript:alert(document.cookie)//', { source: 's', campaign: 'c', clickId: 'x' })).toBeUndefined();
	});

	it('makes a plain-text part from HTML', () => {
		expect(textOfHtml('<style>p{}</style><p>Hello &amp; welcome</p><p><a href="https://x.example/a">Back</a><br>Bye</p>')).toBe(
			'Hello & welcome\nBack (https://x.example/a)\nBye',
		);
	});
});
