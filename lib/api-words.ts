/**
 * The page side of server/words.ts: says a route's answer (an error or an outcome carrying
 * `code` and `params`) in the page's language from the catalogue's Api entries, falling back to
 * the English text the route sent when the catalogue has no entry for its code.
 */
import { useTranslations } from 'next-intl';
import type { Words } from '@/server/words';

/** A route's JSON answer as pages read it. */
export interface WordedAnswer extends Partial<Words> {
  error?: string;
  message?: string;
}

export type SayAnswer = (answer: WordedAnswer | null | undefined, fallback: string) => string;

/** A function that words an answer in the page's language; `fallback` when it carries no words at all. */
export function useApiWords(): SayAnswer {
  const t = useTranslations('Api');
  return (answer, fallback) => {
    const code = answer?.code as Parameters<typeof t.has>[0] | undefined;
    if (code && t.has(code)) return t(code, answer?.params as never);
    return answer?.error ?? answer?.message ?? fallback;
  };
}
