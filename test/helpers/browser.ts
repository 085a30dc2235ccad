// Debian's chromium driven by puppeteer-core (which downloads no browser): .ci/run installs it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

type Teardown = { teardown: (fn: () => Promise<void> | void) => void }

/** A headless chromium (closed at teardown) and a page of the given viewport. */
export async function openBrowser (t: Teardown, viewport = { width: 1280, height: 900 }): Promise<{ browser: Browser, page: Page }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  // a profile of its own, and nothing fetched behind the test's back (updates, sync, first-run pages)
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'stedi-chromium-'))
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => { await browser.close(); fs.rmSync(profile, { recursive: true, force: true }) })
  const page = await browser.newPage()
  await page.setViewport(viewport)
  return { browser, page }
}

/** Every element with an id and a data-value on the page: id -> its raw value. */
export async function pageValues (page: Page): Promise<Record<string, string>> {
  return await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[id][data-value]')].map((e) => [e.id, e.getAttribute('data-value') ?? ''])))
}
