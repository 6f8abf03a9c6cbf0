import { readFileSync } from 'node:fs';
import { format } from 'prettier';
import { describe, expect, it } from 'vitest';
import { PROVIDERS_DOC, PROVIDERS_JSON, providersDoc, providersJson } from '../../../dev/providers.js';
import { PROVIDERS } from '../../../src/model/provider-registry.js';

/** What `npm run providers` writes is checked in, and equal to what the registry says now. */
describe('generated from the provider registry', () => {
  it(`${PROVIDERS_DOC} is the registry's table (run \`npm run providers\` after changing a row)`, async () => {
    const rendered = await format(providersDoc(), { parser: 'markdown', filepath: PROVIDERS_DOC });
    expect(readFileSync(PROVIDERS_DOC, 'utf8')).toBe(rendered);
  });

  it(`${PROVIDERS_JSON} lists every type's actions (run \`npm run providers\` after changing a row)`, async () => {
    const rendered = await format(providersJson(), { parser: 'json', filepath: PROVIDERS_JSON });
    expect(readFileSync(PROVIDERS_JSON, 'utf8')).toBe(rendered);
  });

  it('names every type once, with a dated stable api-version and where its facts come from', () => {
    expect(new Set(PROVIDERS.map((p) => p.type.toLowerCase())).size).toBe(PROVIDERS.length);
    for (const p of PROVIDERS) {
      expect(p.apiVersion, p.type).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(p.spec, p.type).toMatch(
        p.verified ? /^specification\/.+\.json$/ : /^bicep-types-az: generated\/.+/,
      );
    }
  });
});
