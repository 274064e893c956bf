/** "← Newer · Page 2 of 5 · Older →" under a paged table; `hrefOf` makes the link of a page. Nothing when there is one page. */
import { useTranslations } from 'next-intl';
import Link from 'next/link';

export function Pager(props: { label: string; page: number; pages: number; hrefOf: (page: number) => string; previous: string; next: string }) {
  const { label, page, pages, hrefOf, previous, next } = props;
  const t = useTranslations('Pager');
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label={label}>
      {page > 1 ? <Link href={hrefOf(page - 1)}>{previous}</Link> : <span className="muted">{previous}</span>}
      <span>{t('pageOf', { page, pages })}</span>
      {page < pages ? <Link href={hrefOf(page + 1)}>{next}</Link> : <span className="muted">{next}</span>}
    </nav>
  );
}
