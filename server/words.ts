/**
 * Words for a person, as a code and its values rather than English text: an error or outcome
 * that reaches a page carries `words`, and the page says it in the person's language from the
 * catalogue entry Api.CODE (messages/*.json). The English `message` stays beside it for API
 * clients, logs and the CLI. test/api-words.test.ts checks every code has its entry.
 */
export interface Words {
  code: string;
  params?: Record<string, string | number>;
}

/** Whether a thrown value carries words for the page (matched by shape: Next bundles its own copies of classes). */
export function wordsOf(value: unknown): Words | undefined {
  const words = (value as { words?: unknown } | null)?.words as Words | undefined;
  return words && typeof words.code === 'string' ? words : undefined;
}
