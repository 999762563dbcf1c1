import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LearntOnce } from '../../shared/kernel/learnt-once';

describe('facts learnt once', () => {
  it('learns a fact once, and keeps no unknown one', async () => {
    const facts = new LearntOnce<string>(10);
    let asked = 0;
    const learn = async () => (asked++, 'product-1');
    assert.equal(await facts.get('offer-1', learn), 'product-1');
    assert.equal(await facts.get('offer-1', learn), 'product-1');
    assert.equal(asked, 1);
    assert.equal(await facts.get('offer-2', () => undefined), undefined);
    assert.equal(await facts.get('offer-2', () => 'product-2'), 'product-2', 'an unknown answer is asked again');
  });

  it('keeps at most its bound, forgetting the oldest first', async () => {
    const facts = new LearntOnce<number>(3);
    for (let n = 1; n <= 4; n++) facts.set(`key-${n}`, n);
    facts.set('key-4', 4);
    let asked = 0;
    const learn = (value: number) => () => (asked++, value);
    assert.deepEqual([await facts.get('key-2', learn(0)), await facts.get('key-3', learn(0)), await facts.get('key-4', learn(0))], [2, 3, 4]);
    assert.equal(asked, 0, 'the three newest kept (setting a known key again took no room)');
    assert.equal(await facts.get('key-1', learn(-1)), -1, 'the oldest forgotten');
  });
});
