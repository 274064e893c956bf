/**
 * One person, for admins: their account (role, status, how they sign in), the changes an admin
 * can make (role, disable/enable, unlock, reset password), their desktops and their last 20
 * sign-ins (method, address, browser, when, how it ended). OIDC users have no password here.
 */
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { AdminNav } from '@/components/admin/AdminNav';
import { When } from '@/components/admin/Figures';
import { UserActions } from '@/components/admin/UserActions';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { userDetail } from '@/lib/users';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('AdminUser'))('metaTitle') };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export default async function UserPage({ params }: { params: Promise<{ name: string }> }) {
  const admin = await requireRole('admin');
  const detail = await userDetail(safeDecode((await params).name));
  if (!detail) notFound();
  const { user, signIns, desktops } = detail;
  const now = Date.now();
  const t = await getTranslations('AdminUser');
  const users = await getTranslations('AdminUsers');
  const stages = await getTranslations('Desktops');
  return (
    <>
      <TopBar user={admin} />
      <AdminNav user={admin} current="users" />
      <main className="page wide">
        <p className="crumbs">
          <Link href="/admin/users">{t('crumb')}</Link> › {user.name}
        </p>
        <h1>{user.displayName}</h1>
        <dl className="stat-grid">
          <div>
            <dt>{t('userName')}</dt>
            <dd>{user.name}</dd>
          </div>
          <div>
            <dt>{users('status')}</dt>
            <dd>{user.disabled ? users('disabled') : user.lockedUntil ? users('locked') : users('enabled')}</dd>
          </div>
          <div>
            <dt>{users('signsInWith')}</dt>
            <dd>{user.issuer ? t('oidcFrom', { issuer: user.issuer }) : users('password')}</dd>
          </div>
          <div>
            <dt>{users('added')}</dt>
            <dd>
              <When at={user.createdAt} now={now} />
            </dd>
          </div>
        </dl>
        <UserActions name={user.name} role={user.role} disabled={user.disabled} locked={user.lockedUntil !== null} oidc={user.issuer !== null} />
        <section className="panel" aria-labelledby="desktops-title">
          <h2 id="desktops-title">{t('desktops')}</h2>
          {desktops.length === 0 ? (
            <p>{t('noDesktop')}</p>
          ) : (
            <table className="data-table compact">
              <thead>
                <tr>
                  <th scope="col">{t('pool')}</th>
                  <th scope="col">{t('state')}</th>
                  <th scope="col">{t('created')}</th>
                </tr>
              </thead>
              <tbody>
                {desktops.map((d) => (
                  <tr key={d.id}>
                    <th scope="row">
                      <Link href={`/helpdesk/people/${encodeURIComponent(user.name)}`}>{d.pool}</Link>
                    </th>
                    <td>{stages(`stage.${d.stage}`)}</td>
                    <td>
                      <When at={d.createdAt} now={now} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="panel" aria-labelledby="sign-ins-title">
          <h2 id="sign-ins-title">{t('signIns')}</h2>
          {signIns.length === 0 ? (
            <p>{t('noSignIns')}</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table compact">
                <thead>
                  <tr>
                    <th scope="col">{t('started')}</th>
                    <th scope="col">{t('with')}</th>
                    <th scope="col">{t('from')}</th>
                    <th scope="col">{t('ended')}</th>
                  </tr>
                </thead>
                <tbody>
                  {signIns.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <When at={s.started_at} now={now} />
                      </td>
                      <td>{s.method === 'oidc' ? users('oidc') : users('password')}</td>
                      <td>
                        {s.client_address ?? '–'}
                        <span className="sub">{s.user_agent?.slice(0, 80)}</span>
                      </td>
                      <td>{s.ended_at ? <><When at={s.ended_at} now={now} /> <span className="sub">{s.end_reason}</span></> : s.expires_at > now ? t('signedIn') : t('expired')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </main>
    </>
  );
}

