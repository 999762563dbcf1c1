import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Document, Spectral } from '@stoplight/spectral-core';
import { Yaml } from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';
import { projectRoot } from '../../shared/kernel/project-root';
import { OPENAPI_DOCUMENTS } from '../support/contract';

/**
 * Spectral's `oas` ruleset, the lint partners' tooling and API catalogues run: every
 * operation described and tagged, a contact, no unused components, valid examples.
 * Zero findings of any severity.
 */
describe('OpenAPI documents under Spectral’s oas ruleset', () => {
  for (const [module, file] of Object.entries(OPENAPI_DOCUMENTS)) {
    it(`${module}: no finding`, async () => {
      const spectral = new Spectral();
      spectral.setRuleset({ extends: [oas] } as never);
      const path = join(projectRoot(), file);
      const findings = await spectral.run(new Document(readFileSync(path, 'utf8'), Yaml, path));
      const listed = findings.map((finding) => `${finding.code} at ${finding.path.join('.')}: ${finding.message}`);
      assert.deepEqual(listed, []);
    });
  }
});
