import { stemmer } from 'stemmer';

/**
 * Lucene's English stop set (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`, 33 words), which Anserini's
 * default analyzer also uses.
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not',
  'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was',
  'will', 'with',
]);

/** A text → terms function. Terms are what the BM25 vocabulary is built from. */
export interface Analyzer {
  readonly name: string;
  analyze(text: string): string[];
}

// Character classes for the word-boundary approximation below (UAX#29 property names in comments).
const LETTER = /[\p{L}\p{M}]/u; // ALetter (+ Extend)
const DIGIT = /\p{Nd}/u; // Numeric
const CONNECTOR = /\p{Pc}/u; // ExtendNumLet, e.g. '_'
const FORMAT = /[\p{Cf}]/u; // Format: ignored inside words (soft hyphen, zero-width joiner)
// Han, Hiragana: Lucene emits each such character as its own token; Katakana runs stay together.
const IDEOGRAPH = /[\p{Script=Han}\p{Script=Hiragana}]/u;
const MID_LETTER = new Set([':', '\u00b7', '\u0387', '\u05f4', '\u2027', '\ufe13', '\ufe55', '\uff1a']);
const MID_NUM = new Set([',', ';', '\u037e', '\u0589', '\u060c', '\u060d', '\u066c', '\u07f8', '\u2044', '\ufe10', '\ufe14', '\ufe50', '\ufe54', '\uff0c', '\uff1b']);
const MID_NUM_LET = new Set(['.', '\u2018', '\u2019', '\u2024', '\ufe52', '\uff07', '\uff0e', "'"]);

type CharKind = 'letter' | 'digit' | 'connector' | 'format' | 'ideograph' | 'other';

function kindOf(ch: string): CharKind {
  const c = ch.charCodeAt(0);
  // ASCII fast path: most of any English corpus.
  if (c < 0x80) {
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return 'letter';
    if (c >= 0x30 && c <= 0x39) return 'digit';
    return c === 0x5f ? 'connector' : 'other';
  }
  if (IDEOGRAPH.test(ch)) return 'ideograph';
  if (LETTER.test(ch)) return 'letter';
  if (DIGIT.test(ch)) return 'digit';
  if (CONNECTOR.test(ch)) return 'connector';
  if (FORMAT.test(ch)) return 'format';
  return 'other';
}

/**
 * Splits text into words the way Lucene's StandardTokenizer (UAX#29 word boundaries) mostly does:
 * runs of letters, digits and connectors ('_'); a letter-letter pair may be joined by one
 * MidLetter/MidNumLet/apostrophe ("don't", "e.g", "u.s.a"), a digit-digit pair by one
 * MidNum/MidNumLet/apostrophe ("3.14", "1,000"); format characters are kept inside words; each Han
 * or Hiragana character is a token. Differences from the real tokenizer: no Hebrew-letter,
 * Katakana-specific, regional-indicator or emoji rules, no South-East-Asian dictionary segmentation,
 * and Unicode properties come from the JS engine's Unicode version rather than Lucene's.
 * Tokens longer than 255 characters are dropped (Lucene splits them at 255).
 */
export function standardTokenize(text: string): string[] {
  const chars = Array.from(text);
  const kinds = chars.map(kindOf);
  const tokens: string[] = [];
  const n = chars.length;
  let i = 0;
  while (i < n) {
    const k = kinds[i]!;
    if (k === 'ideograph') {
      tokens.push(chars[i]!);
      i++;
      continue;
    }
    if (k !== 'letter' && k !== 'digit' && k !== 'connector') {
      i++;
      continue;
    }
    const start = i;
    let last = k; // kind of the last word character, ignoring format characters
    i++;
    while (i < n) {
      const ki = kinds[i]!;
      if (ki === 'letter' || ki === 'digit' || ki === 'connector') {
        last = ki;
        i++;
      } else if (ki === 'format') {
        i++;
      } else if (ki === 'other' && i + 1 < n) {
        const mid = chars[i]!;
        const next = kinds[i + 1]!;
        const joinsLetters = last === 'letter' && next === 'letter' && (MID_LETTER.has(mid) || MID_NUM_LET.has(mid));
        const joinsDigits = last === 'digit' && next === 'digit' && (MID_NUM.has(mid) || MID_NUM_LET.has(mid));
        if (!joinsLetters && !joinsDigits) break;
        i += 2;
        last = next;
      } else {
        break;
      }
    }
    // A word that is only connectors ('___') is not a token.
    let hasWordChar = false;
    for (let j = start; j < i; j++) if (kinds[j] === 'letter' || kinds[j] === 'digit') hasWordChar = true;
    if (hasWordChar && i - start <= 255) tokens.push(chars.slice(start, i).join(''));
  }
  return tokens;
}

/** Lucene's EnglishPossessiveFilter: drops a trailing 's / ’s / ＇s. */
function stripPossessive(token: string): string {
  const n = token.length;
  if (n >= 2 && (token[n - 1] === 's' || token[n - 1] === 'S')) {
    const q = token[n - 2];
    if (q === "'" || q === '\u2019' || q === '\uff07') return token.slice(0, n - 2);
  }
  return token;
}

export interface EnglishAnalyzerOptions {
  /** Stop words removed after lower-casing. Default ENGLISH_STOP_WORDS (Lucene's 33). */
  stopWords?: ReadonlySet<string>;
  /** Porter-stem the terms. Default true. */
  stem?: boolean;
}

/**
 * An approximation of Lucene's EnglishAnalyzer (and Anserini's DefaultEnglishAnalyzer):
 * standard tokenization → possessive removal → lower-casing → English stop words → Porter stemming.
 * Stems are cached: corpora repeat words heavily.
 */
export class EnglishAnalyzer implements Analyzer {
  readonly name = 'english';
  private readonly stopWords: ReadonlySet<string>;
  private readonly stem: boolean;
  private readonly cache = new Map<string, string>();

  constructor(options: EnglishAnalyzerOptions = {}) {
    this.stopWords = options.stopWords ?? ENGLISH_STOP_WORDS;
    this.stem = options.stem ?? true;
  }

  analyze(text: string): string[] {
    const out: string[] = [];
    for (const raw of standardTokenize(text)) {
      const word = stripPossessive(raw).toLowerCase();
      if (word === '' || this.stopWords.has(word)) continue;
      out.push(this.stem ? this.stemmed(word) : word);
    }
    return out;
  }

  private stemmed(word: string): string {
    let s = this.cache.get(word);
    if (s === undefined) {
      s = stemmer(word);
      if (this.cache.size < 1_000_000) this.cache.set(word, s);
    }
    return s;
  }
}
