import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnglishAnalyzer, ENGLISH_STOP_WORDS, standardTokenize } from '../../src/eval/analyzer.js';

test('standard tokenization follows the UAX#29 word rules we approximate', () => {
  // Expected splits worked out from UAX#29: letters join across one MidLetter/MidNumLet/apostrophe,
  // digits across one MidNum/MidNumLet, hyphens and slashes always split, '_' joins.
  assert.deepEqual(standardTokenize("Don't stop: U.S.A. costs 3.14, or 1,000 e-mail foo_bar IL-6/TNF-α h2o"), [
    "Don't", 'stop', 'U.S.A', 'costs', '3.14', 'or', '1,000', 'e', 'mail', 'foo_bar', 'IL', '6', 'TNF', 'α', 'h2o',
  ]);
  assert.deepEqual(standardTokenize('end.  (p<0.05) x:y a..b 3,,4'), ['end', 'p', '0.05', 'x:y', 'a', 'b', '3', '4']);
  // Each Han character is a token; accented Latin stays one word.
  assert.deepEqual(standardTokenize('naïve café 中文'), ['naïve', 'café', '中', '文']);
  assert.deepEqual(standardTokenize('___ -- !!'), []);
});

test("english analyzer: possessives, lower case, Lucene's 33 stop words, Porter stems", () => {
  assert.equal(ENGLISH_STOP_WORDS.size, 33);
  const a = new EnglishAnalyzer();
  assert.deepEqual(a.analyze("The dog's bones are in John’s HOUSE"), ['dog', 'bone', 'john', 'hous']);
  // Porter (1980) paper examples.
  assert.deepEqual(
    a.analyze('caresses ponies ties cats feed agreed plastered motoring sing conflated troubled sized hopping falling filing happy relational'),
    ['caress', 'poni', 'ti', 'cat', 'feed', 'agre', 'plaster', 'motor', 'sing', 'conflat', 'troubl', 'size', 'hop', 'fall', 'file', 'happi', 'relat'],
  );
  assert.deepEqual(new EnglishAnalyzer({ stem: false }).analyze('The Running dogs'), ['running', 'dogs']);
});
