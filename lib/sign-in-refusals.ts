/**
 * Why a sign-in was refused, for the sign-in form: the codes the credentials provider sends
 * (server/accounts/sign-in-refusal.ts, which imports nothing, so the browser bundle can carry it).
 */
export { SIGN_IN_REFUSAL_PREFIX, type SignInRefusal, parseSignInRefusal } from '@/server/accounts/sign-in-refusal';
