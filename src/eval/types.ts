/** A corpus document as BEIR stores it. `title` is '' when the file has none. */
export interface CorpusDocument {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

export interface EvalQuery {
  readonly id: string;
  readonly text: string;
}

/** Relevance judgments: query id → (document id → grade). Grades are integers, higher is better. */
export type Qrels = Map<string, Map<string, number>>;

export interface RankedHit {
  readonly id: string;
  readonly score: number;
}

/** Ranked results per query id, best first. */
export type Run = Map<string, RankedHit[]>;

/**
 * The text a document is encoded from: `title + ' ' + text`, exactly the recipe of the
 * sentence-transformers evaluator examples and of Anserini's BEIR "flat" indexes (one field).
 */
export function documentText(doc: CorpusDocument): string {
  return `${doc.title} ${doc.text}`;
}
