import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WrittenDocuments } from '../../shared/kernel/projection';
import type { ReadDocument } from '../../shared/kernel/ports';

describe('the documents a projector wrote', () => {
  it('are recalled with the etag their write answered, for the next version only', () => {
    const written = new WrittenDocuments<ReadDocument>();
    written.remember('doc', { id: 'doc', version: 4 }, 'etag-4');
    assert.deepEqual(written.recall('doc', 5), { document: { id: 'doc', version: 4 }, etag: 'etag-4' });
    assert.equal(written.recall('doc', 6), undefined, 'a gap: another instance wrote version 5 since');
    assert.equal(written.recall('doc', 4), undefined, 'a duplicate: judged on the stored document');
  });

  it('are not recalled once forgotten, written without an etag, or too large to keep', () => {
    const written = new WrittenDocuments<ReadDocument & { text?: string }>();
    written.remember('forgotten', { id: 'forgotten', version: 1 }, 'etag');
    written.forget('forgotten');
    written.remember('no-etag', { id: 'no-etag', version: 1 }, 'etag');
    written.remember('no-etag', { id: 'no-etag', version: 2 }, undefined);
    written.remember('large', { id: 'large', version: 1, text: 'x'.repeat(65 * 1024) }, 'etag');
    assert.equal(written.recall('forgotten', 2), undefined);
    assert.equal(written.recall('no-etag', 3), undefined, 'an etag the store did not give: read next time');
    assert.equal(written.recall('no-etag', 2), undefined, 'nor the copy before it');
    assert.equal(written.recall('large', 2), undefined);
  });
});
