/** The front door: signed-in people go to their desktops, everyone else to sign-in. */
import { redirect } from 'next/navigation';
import { currentUser } from '@/lib/auth';

export const dynamic = 'force-dynamic';

export default async function Home() {
  redirect((await currentUser()) ? '/desktops' : '/login');
}
