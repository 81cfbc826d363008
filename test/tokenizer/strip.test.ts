import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPythonWhitespace, pythonStrip } from '../../src/tokenizer/strip.js';

// Python 3: [hex(c) for c in range(0x110000) if chr(c).isspace()]
const PYTHON_ISSPACE = [
  0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
  0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

test('the whitespace set is exactly Python str.isspace() over the BMP', () => {
  const ours: number[] = [];
  for (let c = 0; c < 0x10000; c++) if (isPythonWhitespace(c)) ours.push(c);
  assert.deepEqual(ours, PYTHON_ISSPACE);
});

test('strips what Python strips and JavaScript trim() does not (U+001C..U+001F, U+0085)', () => {
  assert.equal(pythonStrip('\u001cfile separator and next line\u0085'), 'file separator and next line');
  assert.equal(pythonStrip('\u001d\u001e\u001fx\u001f'), 'x');
  assert.notEqual('\u001cx\u0085'.trim(), 'x');
});

test('keeps U+FEFF and zero-width characters that JavaScript trim() removes or Python keeps', () => {
  assert.equal(pythonStrip('\ufeffBOM at the start'), '\ufeffBOM at the start');
  assert.equal('\ufeffBOM'.trim(), 'BOM');
  assert.equal(pythonStrip('\u200bzero\u200b'), '\u200bzero\u200b');
});

test('unicode spaces, tabs and newlines; inner whitespace untouched; empty results', () => {
  assert.equal(pythonStrip('\u00a0\u2003leading and trailing unicode spaces\u3000\u2028'), 'leading and trailing unicode spaces');
  assert.equal(pythonStrip('   padded  text   '), 'padded  text');
  assert.equal(pythonStrip('   \t\n  '), '');
  assert.equal(pythonStrip(''), '');
  assert.equal(pythonStrip('query: '), 'query:');
});
