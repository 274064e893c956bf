/**
 * Steps in the browser that the end-to-end tests and the benchmark share (plain Playwright, no
 * test runner): signing in through the sign-in page, and reading how much of the console's
 * canvas the guest has drawn.
 */
import type { Page } from '@playwright/test';

/** Signs in through the sign-in page and waits for the desktops page. */
export async function signIn(page: Page, name: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /My desktops?/ }).waitFor({ state: 'visible', timeout: 15_000 });
}

/** Counts canvas pixels that are not black: the guest's text console draws light text on black. */
export async function litPixels(page: Page): Promise<number> {
  return page.getByRole('application', { name: 'Desktop screen' }).evaluate((node) => {
    const canvas = node as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 96) lit++;
    return lit;
  });
}
