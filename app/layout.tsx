/**
 * The page frame every Floe page shares: the language (next-intl, i18n/request.ts) with its
 * messages for the client components, the title and description (in the page's language) and
 * the stylesheet.
 */
import type { Metadata } from 'next';
import { NextIntlClientProvider } from 'next-intl';
import { getLocale, getTranslations } from 'next-intl/server';
import type { ReactNode } from 'react';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: 'Floe', description: (await getTranslations('Layout'))('description') };
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await getLocale();
  return (
    <html lang={locale}>
      <body>
        <NextIntlClientProvider>{children}</NextIntlClientProvider>
      </body>
    </html>
  );
}
