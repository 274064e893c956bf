/** A password Floe just made (new account or reset), shown once with a plain warning that it will not be shown again. */
import { useTranslations } from 'next-intl';

export function NewPassword({ name, password }: { name: string; password: string }) {
  const t = useTranslations('NewPassword');
  return (
    <div className="new-password" role="status">
      <p>
        {t.rich('text', {
          name,
          password,
          strong: (chunks) => <strong>{chunks}</strong>,
          code: (chunks) => (
            <code className="mono" aria-label={t('label', { name })}>
              {chunks}
            </code>
          ),
        })}
      </p>
      <p className="hint">{t('hint', { name })}</p>
    </div>
  );
}
